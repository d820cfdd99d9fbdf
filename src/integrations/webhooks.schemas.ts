import { z } from 'zod';
import { singleLineText } from '../shared/http/text.js';
import { parseNumericId } from '../shared/ids.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../events/webhook-events.js';

const asList = (v: unknown) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** A new endpoint: its URL, what it is for, and the events it receives (at least one). */
export const WebhookEndpointForm = z.object({
  url: singleLineText()
    .min(1, 'Enter the URL that receives the events.')
    .max(2000, 'Use at most 2,000 characters.')
    .refine((v) => {
      try {
        const u = new URL(v);
        return (u.protocol === 'https:' || u.protocol === 'http:') && u.username === '' && u.password === '';
      } catch {
        return false;
      }
    }, 'Enter a full URL starting with https://, without a user name or password in it.'),
  description: singleLineText().max(200, 'Use at most 200 characters.').default(''),
  events: z.preprocess(
    asList,
    z
      .array(
        z.enum(WEBHOOK_EVENT_TYPES as unknown as [WebhookEventType, ...WebhookEventType[]], { message: 'Choose events from the list.' }),
      )
      .min(1, 'Choose at least one event.'),
  ),
});
export type WebhookEndpointInput = z.infer<typeof WebhookEndpointForm>;

export function parseEndpointId(raw: unknown): number | undefined {
  return parseNumericId(raw);
}
