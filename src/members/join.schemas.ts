import { z } from 'zod';
import { emailField } from '../shared/http/text.js';
import { topicIds } from '../consent/consent.schemas.js';
import { nameField, phoneField, postalAddressField } from './details.schemas.js';

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
