import { z } from 'zod';
import { emailField, multiLineText, personName } from '../shared/http/text.js';

export const INQUIRY_SUBJECTS = ['data_question', 'removal', 'other'] as const;
export const SUBJECT_NAMES: Record<(typeof INQUIRY_SUBJECTS)[number], string> = {
  data_question: 'A question about my data',
  removal: 'Removing my data',
  other: 'Something else',
};

/** A question from the public (C12): who is asking, where to answer, what about. */
export const InquiryForm = z.object({
  name: personName({ required: 'Enter your name.' }).min(1, 'Enter your name.').max(200, 'Your name can have at most 200 characters.'),
  email: emailField,
  subject: z.enum(INQUIRY_SUBJECTS, { message: 'Choose what your question is about.' }),
  message: multiLineText({ required: 'Write your question.', tabs: true })
    .min(1, 'Write your question.')
    .max(5000, 'Your question can have at most 5,000 characters.'),
});
export type InquiryForm = z.infer<typeof InquiryForm>;

export const InquiryReply = z.object({
  body: multiLineText({ required: 'Write your answer.', tabs: true })
    .min(1, 'Write your answer.')
    .max(10000, 'Use at most 10,000 characters.'),
});
