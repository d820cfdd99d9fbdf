import { z } from 'zod';
import type { TopicKind } from './consent.repository.js';
import { CHANNEL_NAMES as CHANNEL_WORDS, KIND_NAMES as KIND_WORDS } from '../shared/words.js';
import { multiLineText, singleLineText } from '../shared/http/text.js';

export const TOPIC_KINDS = ['newsletter', 'announcement', 'third_party_offer', 'partner_data_sharing'] as const;
export const TOPIC_CHANNELS = ['email', 'post', 'phone'] as const;
/** These kinds name a partner (C1, C2). No topic of any kind is ever pre-ticked. */
export const PARTNER_KINDS: readonly TopicKind[] = ['third_party_offer', 'partner_data_sharing'];

/** Their words live in shared/words.ts, with every other code's. */
export const KIND_NAMES: Readonly<Record<TopicKind, string>> = KIND_WORDS;
export const CHANNEL_NAMES: Readonly<Record<(typeof TOPIC_CHANNELS)[number], string>> = CHANNEL_WORDS;

const optionalId = singleLineText()
  .optional()
  .transform((v, ctx) => {
    if (!v) return undefined;
    if (!/^[1-9]\d{0,8}$/.test(v)) {
      ctx.addIssue({ code: 'custom', message: 'Choose one of the listed options.' });
      return z.NEVER;
    }
    return Number(v);
  });

const editable = {
  name: singleLineText({ required: 'Enter a name.' }).min(1, 'Enter a name.').max(120, 'Use at most 120 characters for the name.'),
  description: multiLineText({ tabs: true }).max(1000, 'Keep the description under 1,000 characters.').optional().default(''),
  channel: z.enum(TOPIC_CHANNELS, { message: 'Choose how it reaches members.' }),
  frequency: singleLineText().max(80, 'Use at most 80 characters for how often it is sent.').optional().default(''),
  sort_order: singleLineText()
    .optional()
    .transform((v, ctx) => {
      if (!v) return 0;
      if (!/^-?\d{1,5}$/.test(v)) {
        ctx.addIssue({ code: 'custom', message: 'Enter a whole number, such as 10.' });
        return z.NEVER;
      }
      return Number(v);
    }),
};

/** A new topic. Kind, partner and introducing policy version are fixed from here on. */
export const TopicCreateForm = z
  .object({
    slug: singleLineText({ required: 'Enter a short name for addresses, such as monthly-news.' }).regex(
      /^[a-z0-9][a-z0-9-]{0,62}$/,
      'Use lower-case letters, digits and dashes, such as monthly-news (at most 63).',
    ),
    ...editable,
    kind: z.enum(TOPIC_KINDS, { message: 'Choose the kind of topic.' }),
    partner_id: optionalId,
    policy_version_id: singleLineText({ required: 'Choose the policy version that introduces this use.' })
      .regex(/^[1-9]\d{0,8}$/, 'Choose the policy version that introduces this use.')
      .transform(Number),
  })
  .superRefine((v, ctx) => {
    const partnerKind = PARTNER_KINDS.includes(v.kind);
    if (partnerKind && v.partner_id === undefined)
      ctx.addIssue({ code: 'custom', path: ['partner_id'], message: 'Choose the partner: offers and data sharing always name one.' });
    if (!partnerKind && v.partner_id !== undefined)
      ctx.addIssue({ code: 'custom', path: ['partner_id'], message: 'Only third-party offers and partner data sharing name a partner.' });
  });
export type TopicCreateInput = z.infer<typeof TopicCreateForm>;

export const TopicUpdateForm = z.object(editable);
export type TopicUpdateInput = z.infer<typeof TopicUpdateForm>;
