import { z } from 'zod';
import { checkbox } from '../shared/http/forms.js';
import { singleLineText } from '../shared/http/text.js';

/** The branding form; an empty field means "Assent's default". */
export const BrandingForm = z.object({
  primary_colour: singleLineText()
    .optional()
    .transform((v) => (v ?? '').toLowerCase())
    .refine((v) => v === '' || /^#[0-9a-f]{6}$/.test(v), 'Enter the colour as # and six hexadecimal digits, such as #2f5d50.')
    .transform((v) => v || undefined),
  sender_name: singleLineText()
    .optional()
    .transform((v) => v ?? '')
    .refine((v) => v.length <= 100, 'Keep the sender name to 100 characters or fewer.')
    .refine((v) => !/["<>@\\]/.test(v), 'The sender name cannot contain quotes, angle brackets, backslashes or @.')
    .transform((v) => v || undefined),
  remove_logo: checkbox,
});
export type BrandingInput = z.infer<typeof BrandingForm>;
