import { z } from 'zod';
import { topicIds } from '../consent/consent.schemas.js';
import { multiLineText, singleLineText } from '../shared/http/text.js';

export const MEMBERS_PAGE_SIZE = 25;

export const MemberSearch = z.object({
  q: singleLineText({ required: 'Enter the text to search for once.' }).max(200, 'Search text can be at most 200 characters.').default(''),
  page: z.coerce.number().int().min(1).max(100000).catch(1),
});

/** A change that reached staff by phone, post or e-mail, recorded on the member's behalf (C3). */
export const StaffRecordChange = z.object({
  topics: topicIds,
  channel: z.enum(['phone', 'post', 'email'], { message: 'Choose how the request reached us: phone, post or e-mail.' }),
  note: multiLineText({ required: 'Write a note about the request.', tabs: true })
    .min(1, 'Write a note about the request.')
    .max(2000, 'The note can be at most 2000 characters.'),
  reference: singleLineText({ required: 'The request reference must be text.' })
    .max(200, 'The request reference can be at most 200 characters.')
    .optional()
    .transform((v) => v || null),
});
export type StaffRecordChange = z.infer<typeof StaffRecordChange>;
