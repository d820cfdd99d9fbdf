import { z } from 'zod';
import { emailField } from '../auth/auth.routes.js';
import { topicIds } from '../consent/consent.schemas.js';

const optionalText = (max: number, message: string) =>
  z
    .string()
    .trim()
    .max(max, message)
    .optional()
    .transform((v) => (v ? v : null));

export const nameField = z
  .string({ message: 'Enter your name.' })
  .trim()
  .min(1, 'Enter your name.')
  .max(200, 'Your name can have at most 200 characters.');
export const postalAddressField = optionalText(1000, 'The postal address can have at most 1000 characters.');
export const phoneField = optionalText(40, 'A phone number has at most 40 characters.').refine(
  (v) => v === null || /^[0-9 +().-]+$/.test(v),
  {
    message: 'A phone number may contain only digits, spaces and + ( ) . -',
  },
);

/** JoinRequest: C13 — without the age confirmation nothing is stored. */
export function JoinRequest(minAge: number) {
  return z.object({
    name: nameField,
    email: emailField,
    postal_address: postalAddressField,
    phone: phoneField,
    topics: topicIds,
    age_confirmed: z.literal('yes', { message: `Please confirm that you are ${minAge} or older. Membership is not open to children.` }),
  });
}
