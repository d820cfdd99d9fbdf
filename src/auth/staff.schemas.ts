import { z } from 'zod';
import { personName, secretText, singleLineText } from '../shared/http/text.js';
import { STAFF_ROLES } from './staff.repository.js';

/** The commands that make and change staff accounts (the CLI and the staff screen). */
export const STAFF_PASSWORD_MIN = 12;
export const staffPassword = secretText({ required: 'Enter a password.' })
  .min(STAFF_PASSWORD_MIN, `Use at least ${STAFF_PASSWORD_MIN} characters.`)
  .max(200, 'Use at most 200 characters.');

export const NewStaffUser = z.object({
  email: singleLineText({ required: 'Give --email.' }).max(254).email('The e-mail address is not valid.'),
  name: personName({ required: 'Give --name.' }).min(1, 'Give --name.').max(200, 'The name has at most 200 characters.'),
  role: z.enum(STAFF_ROLES, { message: `The role must be one of: ${STAFF_ROLES.join(', ')}.` }),
  password: staffPassword,
});

// Staff accounts managed by an admin (GET/POST /admin/staff).
export const StaffAccountForm = z.object({
  email: singleLineText().max(254, 'Use at most 254 characters.').email('Enter an e-mail address like name@example.org.'),
  name: personName().min(1, 'Enter the name.').max(200, 'Use at most 200 characters.'),
  role: z.enum(STAFF_ROLES, { message: 'Choose a role.' }),
  password: staffPassword,
});
