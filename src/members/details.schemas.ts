import { z } from 'zod';
import { emailField } from '../shared/http/text.js';
import { multiLineText, personName, singleLineText } from '../shared/http/text.js';

/** Digits, spaces and + - ( ) . only, with at least one digit: enough for any country's way of writing a number. */
const PHONE = /^(?=.*[0-9])[0-9 +\-().]+$/;

const blankToNull = (v: string | undefined): string | null => (v ? v : null);

/*
 * The member's details, with the same rules on the join form and the details page (C5). An empty
 * or missing optional field is stored as "none". The postal address is the one multi-line field:
 * browsers send its line breaks as CRLF; they are stored as LF, and the limit counts what is stored.
 */
export const nameField = personName({ required: 'Enter your name.' }).min(1, 'Enter your name.').max(200, 'Use at most 200 characters.');
export const postalAddressField = multiLineText({ required: 'Enter your postal address as text.' })
  .max(1000, 'Use at most 1000 characters.')
  .optional()
  .transform(blankToNull);
export const phoneField = singleLineText({ required: 'Enter your phone number as text.' })
  .max(40, 'Use at most 40 characters.')
  .refine((v) => v === '' || PHONE.test(v), 'Use only digits, spaces and + - ( ) . in a phone number.')
  .optional()
  .transform(blankToNull);

/** C5: the member corrects their own name, postal address and phone. */
export const UpdateDetails = z.object({ name: nameField, postal_address: postalAddressField, phone: phoneField });
export type UpdateDetailsCommand = z.infer<typeof UpdateDetails>;

/** C5: a new address, taken into use only once a link sent to it is opened. */
export const ChangeEmail = z.object({ email: emailField });
export type ChangeEmailCommand = z.infer<typeof ChangeEmail>;
