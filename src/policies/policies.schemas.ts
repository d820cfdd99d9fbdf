import { z } from 'zod';
import { checkbox } from '../shared/http/forms.js';
import { multiLineText, singleLineText, utcDateTime } from '../shared/http/text.js';

/**
 * A policy version's label, such as 2.1: what staff may type, and so the only shape a
 * /privacy/versions/:version address can have. Anything else is a page that does not exist,
 * answered before the database is asked.
 */
export const VERSION_LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const VERSION_LABEL_MAX = 20;

export function isVersionLabel(raw: unknown): raw is string {
  return typeof raw === 'string' && raw.length <= VERSION_LABEL_MAX && VERSION_LABEL.test(raw);
}

/** Staff write or correct a draft version (never a published one). */
export const PolicyDraftForm = z.object({
  version: singleLineText({ required: 'Enter a version label, such as 2.1.' })
    .min(1, 'Enter a version label, such as 2.1.')
    .max(VERSION_LABEL_MAX, `Use at most ${VERSION_LABEL_MAX} characters for the version label.`)
    .regex(VERSION_LABEL, 'Use letters, digits, dots and dashes only, such as 2.1.'),
  title: singleLineText({ required: 'Enter a title.' }).min(1, 'Enter a title.').max(200, 'Use at most 200 characters for the title.'),
  summary: multiLineText({ tabs: true }).max(2000, 'Keep the summary under 2,000 characters.').optional().default(''),
  body: multiLineText({ required: 'Enter the text of the policy.', tabs: true })
    .min(1, 'Enter the text of the policy.')
    .max(30000, 'The text is too long (at most 30,000 characters).'),
  introduces_new_use: checkbox,
});
export type PolicyDraftInput = z.infer<typeof PolicyDraftForm>;

/** The effective time, entered in UTC (an HTML datetime-local value). */
export const PublishForm = z.object({
  effective_at: utcDateTime('Enter the date and time the version takes effect', '2026-12-01T00:00'),
});
