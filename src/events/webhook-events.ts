import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { addJob } from '../shared/queue.js';

/** The events an endpoint can choose (issue 12.3). */
export const WEBHOOK_EVENT_TYPES = [
  'member.confirmed',
  'consent.changed',
  'member.updated',
  'member.erased',
  'suppression.added',
  'policy.published',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const DELIVER_WEBHOOK_TASK = 'deliver_webhook';
/** A delivery job retries itself on its own schedule (webhooks.deliver.ts); these attempts only cover a worker that died mid-job. */
const JOB_ATTEMPTS = 5;

/** Adds the job that makes one attempt at a delivery; the job key keeps one waiting job per delivery. */
export async function addDeliveryJob(db: Knex | Knex.Transaction, deliveryId: number, runAt?: Date): Promise<void> {
  await addJob(db, DELIVER_WEBHOOK_TASK, { id: deliveryId }, { maxAttempts: JOB_ATTEMPTS, jobKey: `webhook:${deliveryId}`, runAt });
}

/**
 * The ids of the enabled endpoints that chose an event type, as a query another statement can
 * embed (a change of choices reads them with its state, saving a round trip on every one-click).
 */
export function webhookEndpointIdsFor(db: Knex | Knex.Transaction, type: WebhookEventType) {
  return db('webhook_endpoints').where({ enabled: true }).whereRaw('? = ANY(events)', [type]).select('id');
}

/**
 * Records an event for every enabled endpoint that chose its type, in the caller's transaction:
 * the event exists only if the change it reports commits, and a rolled-back change sends nothing.
 * It only inserts rows (the event, its deliveries, their jobs); the worker delivers. The id is the
 * Standard Webhooks message id (webhook-id), the same on every attempt, so receivers can drop repeats.
 */
export async function recordWebhookEvent(
  trx: Knex.Transaction,
  type: WebhookEventType,
  data: Record<string, unknown>,
  /** The endpoints that want this type, when the caller read them already in its transaction (webhookEndpointIdsFor). */
  endpointIds?: readonly number[],
): Promise<void> {
  const endpoints =
    endpointIds?.map((id) => ({ id })) ??
    // Named: each connection plans it once (it runs on every change).
    ((await webhookEndpointIdsFor(trx, type).options({ name: 'webhook_endpoints_for' })) as { id: number }[]);
  if (endpoints.length === 0) return;
  const id = `msg_${randomBytes(16).toString('hex')}`;
  const payload = { type, timestamp: new Date().toISOString(), data };
  await trx('webhook_events').insert({ id, type, payload: JSON.stringify(payload) });
  const deliveries = (await trx('webhook_deliveries')
    .insert(endpoints.map((e) => ({ event_id: id, endpoint_id: e.id, next_attempt_at: trx.fn.now() })))
    .returning('id')) as { id: number }[];
  for (const d of deliveries) await addDeliveryJob(trx, d.id);
}
