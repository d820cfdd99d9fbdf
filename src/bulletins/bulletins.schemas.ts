import { z } from 'zod';
import { checkbox } from '../shared/http/forms.js';
import { multiLineText, singleLineText, utcDateTime } from '../shared/http/text.js';

const topicId = singleLineText({ required: 'Choose the topic it goes to.' })
  .regex(/^[1-9]\d{0,8}$/, 'Choose the topic it goes to.')
  .transform(Number);

/** An editor writes or corrects a draft bulletin (never a confirmed one). */
export const BulletinForm = z.object({
  topic_id: topicId,
  subject: singleLineText({ required: 'Enter a subject.' })
    .min(1, 'Enter a subject.')
    .max(200, 'Use at most 200 characters for the subject.'),
  preheader: singleLineText().max(200, 'Use at most 200 characters for the preview text.').optional().default(''),
  body: multiLineText({ required: 'Write the bulletin.', tabs: true })
    .min(1, 'Write the bulletin.')
    .max(100000, 'The text is too long (at most 100,000 characters).'),
  web_version: checkbox,
});
export type BulletinInput = z.infer<typeof BulletinForm>;

/** When to send, as the send page asks it: now, or at a time (UTC). */
export const SendWhen = z
  .object({
    when: z.enum(['now', 'later'], { message: 'Choose to send now or at a time.' }),
    at: singleLineText().optional(),
  })
  .transform((v, ctx) => {
    if (v.when === 'now') return { when: 'now' as const, at: undefined };
    const at = utcDateTime('Enter the date and time to send it', '2026-12-01T09:00').safeParse(v.at ?? '');
    if (!at.success) {
      ctx.addIssue({ code: 'custom', path: ['at'], message: at.error.issues[0]?.message ?? 'Enter the date and time to send it.' });
      return z.NEVER;
    }
    if (at.data.getTime() <= Date.now()) {
      ctx.addIssue({ code: 'custom', path: ['at'], message: 'Choose a time in the future, or send it now.' });
      return z.NEVER;
    }
    return { when: 'later' as const, at: at.data };
  });
export type SendWhen = z.infer<typeof SendWhen>;

/** The second, explicit step: the editor confirms the audience they were shown. */
export const ConfirmSend = z.object({
  when: z.enum(['now', 'later'], { message: 'Choose to send now or at a time.' }),
  at: singleLineText().optional(),
  audience: singleLineText({ required: 'Reload the page and confirm again.' })
    .regex(/^\d{1,9}$/, 'Reload the page and confirm again.')
    .transform(Number),
  confirm: checkbox.refine((v) => v, 'Tick the box to confirm the audience and the content.'),
});
