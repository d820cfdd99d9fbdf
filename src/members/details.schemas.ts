import { z } from 'zod';
import { emailField } from '../auth/auth.routes.js';

/** Digits, spaces and + - ( ) . only, with at least one digit: enough for any country's way of writing a number. */
const PHONE = /^(?=.*[0-9])[0-9 +\-().]+$/;

const blankToNull = (v: string): string | null => (v === '' ? null : v);

/** C5: the member corrects their own name, postal address and phone; empty optional fields are stored as "none". */
export const UpdateDetails = z.object({
  name: z.string({ message: 'Enter your name.' }).trim().min(1, 'Enter your name.').max(200, 'Use at most 200 characters.'),
  // Browsers send textarea line breaks as CRLF; they are stored as LF, and the limit counts what is stored.
  postal_address: z
    .string({ message: 'Enter your postal address as text.' })
    .default('')
    .transform((v) => v.replace(/\r\n?/g, '\n').trim())
    .pipe(z.string().max(1000, 'Use at most 1000 characters.'))
    .transform(blankToNull),
  phone: z
    .string({ message: 'Enter your phone number as text.' })
    .default('')
    .pipe(
      z
        .string()
        .trim()
        .max(40, 'Use at most 40 characters.')
        .refine((v) => v === '' || PHONE.test(v), 'Use only digits, spaces and + - ( ) . in a phone number.'),
    )
    .transform(blankToNull),
});
export type UpdateDetailsCommand = z.infer<typeof UpdateDetails>;

/** C5: a new address, taken into use only once a link sent to it is opened. */
export const ChangeEmail = z.object({ email: emailField });
export type ChangeEmailCommand = z.infer<typeof ChangeEmail>;
