import type { DbOrTx } from '../db.js';

export interface WebhookEndpointRow {
  id: number;
  url: string;
  description: string;
  events: string[];
  secret: string;
  enabled: boolean;
  disabled_at: Date | null;
  disabled_reason: string | null;
  failing_since: Date | null;
  created_at: Date;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed'];

export interface WebhookDeliveryRow {
  id: number;
  event_id: string;
  endpoint_id: number;
  status: DeliveryStatus;
  attempts: number;
  last_response_code: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  next_attempt_at: Date | null;
  delivered_at: Date | null;
  created_at: Date;
}

/** Endpoints as staff see them: never the secret. */
export type EndpointSummary = Omit<WebhookEndpointRow, 'secret'> & { pending: number; failed: number };

export async function insertEndpoint(
  db: DbOrTx,
  row: { url: string; description: string; events: string[]; secret: string; created_by: string },
): Promise<number> {
  const [r] = (await db('webhook_endpoints').insert(row).returning('id')) as { id: number }[];
  return r!.id;
}

export async function listEndpoints(db: DbOrTx): Promise<EndpointSummary[]> {
  return db('webhook_endpoints as w')
    .orderBy('w.id')
    .select(
      'w.id',
      'w.url',
      'w.description',
      'w.events',
      'w.enabled',
      'w.disabled_at',
      'w.disabled_reason',
      'w.failing_since',
      'w.created_at',
      db.raw(`(SELECT count(*)::int FROM webhook_deliveries d WHERE d.endpoint_id = w.id AND d.status = 'pending') AS pending`),
      db.raw(`(SELECT count(*)::int FROM webhook_deliveries d WHERE d.endpoint_id = w.id AND d.status = 'failed') AS failed`),
    ) as unknown as Promise<EndpointSummary[]>;
}

export async function findEndpoint(db: DbOrTx, id: number): Promise<WebhookEndpointRow | undefined> {
  return db<WebhookEndpointRow>('webhook_endpoints').where({ id }).first();
}

export async function deleteEndpoint(db: DbOrTx, id: number): Promise<boolean> {
  return (await db('webhook_endpoints').where({ id }).delete()) > 0;
}

export async function enableEndpoint(db: DbOrTx, id: number): Promise<boolean> {
  return (
    (await db('webhook_endpoints')
      .where({ id })
      .update({ enabled: true, disabled_at: null, disabled_reason: null, failing_since: null, updated_at: db.fn.now() })) > 0
  );
}

/** Disables an enabled endpoint; false when it was disabled already (someone else got there first). */
export async function disableEndpoint(db: DbOrTx, id: number, reason: string): Promise<boolean> {
  return (
    (await db('webhook_endpoints')
      .where({ id, enabled: true })
      .update({ enabled: false, disabled_at: db.fn.now(), disabled_reason: reason.slice(0, 500), updated_at: db.fn.now() })) > 0
  );
}

export interface DeliveryLogRow extends WebhookDeliveryRow {
  type: string;
}

export const DELIVERIES_SHOWN = 100;

export async function deliveryLog(db: DbOrTx, endpointId: number, status?: DeliveryStatus): Promise<DeliveryLogRow[]> {
  const q = db('webhook_deliveries as d')
    .join('webhook_events as e', 'e.id', 'd.event_id')
    .where('d.endpoint_id', endpointId)
    .orderBy([
      { column: 'd.created_at', order: 'desc' },
      { column: 'd.id', order: 'desc' },
    ])
    .limit(DELIVERIES_SHOWN)
    .select('d.*', 'e.type');
  if (status) q.where('d.status', status);
  return q as unknown as Promise<DeliveryLogRow[]>;
}

export interface DeliveryToSend {
  delivery: WebhookDeliveryRow;
  endpoint: WebhookEndpointRow;
  event: { id: string; type: string; payload: unknown; created_at: Date };
}

export async function findDeliveryToSend(db: DbOrTx, id: number): Promise<DeliveryToSend | undefined> {
  const delivery = await db<WebhookDeliveryRow>('webhook_deliveries').where({ id }).first();
  if (!delivery) return undefined;
  const [endpoint, event] = await Promise.all([
    findEndpoint(db, delivery.endpoint_id),
    db('webhook_events').where({ id: delivery.event_id }).first('id', 'type', 'payload', 'created_at'),
  ]);
  if (!endpoint || !event) return undefined;
  return { delivery, endpoint, event: event as DeliveryToSend['event'] };
}

export async function recordDelivered(db: DbOrTx, id: number, attempts: number, code: number): Promise<void> {
  await db('webhook_deliveries').where({ id, status: 'pending' }).update({
    status: 'delivered',
    attempts,
    last_response_code: code,
    last_error: null,
    last_attempt_at: db.fn.now(),
    next_attempt_at: null,
    delivered_at: db.fn.now(),
  });
}

export async function recordFailedAttempt(
  db: DbOrTx,
  id: number,
  r: { attempts: number; code: number | null; error: string; nextAt: Date | null },
): Promise<void> {
  await db('webhook_deliveries')
    .where({ id, status: 'pending' })
    .update({
      status: r.nextAt ? 'pending' : 'failed',
      attempts: r.attempts,
      last_response_code: r.code,
      last_error: r.error.slice(0, 1000),
      last_attempt_at: db.fn.now(),
      next_attempt_at: r.nextAt,
    });
}

/** A delivery that ended (delivered or failed) goes again from its first attempt; null when there is none. */
export async function resetDelivery(db: DbOrTx, endpointId: number, id: number): Promise<boolean> {
  return (
    (await db('webhook_deliveries')
      .where({ id, endpoint_id: endpointId })
      .whereNot('status', 'pending')
      .update({ status: 'pending', attempts: 0, delivered_at: null, next_attempt_at: db.fn.now(), last_error: null })) > 0
  );
}

export async function endpointOfDelivery(db: DbOrTx, deliveryId: number): Promise<number | undefined> {
  const row = (await db('webhook_deliveries').where({ id: deliveryId }).first('endpoint_id')) as { endpoint_id: number } | undefined;
  return row?.endpoint_id;
}

/** The endpoint answered: it is not failing any more. */
export async function clearFailing(db: DbOrTx, endpointId: number): Promise<void> {
  await db('webhook_endpoints').where({ id: endpointId }).whereNotNull('failing_since').update({ failing_since: null });
}

/** Marks the endpoint failing from now, unless it already was; returns since when it has been failing. */
export async function markFailing(db: DbOrTx, endpointId: number): Promise<Date> {
  const [row] = (await db('webhook_endpoints')
    .where({ id: endpointId })
    .update({ failing_since: db.raw('coalesce(failing_since, now())') })
    .returning('failing_since')) as { failing_since: Date }[];
  return row!.failing_since;
}

/** When the endpoint is disabled, its waiting deliveries end as failed (resend brings one back). */
export async function failPendingOf(db: DbOrTx, endpointId: number, reason: string): Promise<number> {
  return db('webhook_deliveries')
    .where({ endpoint_id: endpointId, status: 'pending' })
    .update({ status: 'failed', last_error: reason, next_attempt_at: null });
}

export async function activeAdmins(db: DbOrTx): Promise<{ email: string; name: string }[]> {
  return db('staff_users').where({ role: 'admin' }).whereNull('disabled_at').select('email', 'name') as unknown as Promise<
    { email: string; name: string }[]
  >;
}

/** How long the delivery log keeps an event once none of its deliveries is still being tried. */
export const WEBHOOK_LOG_DAYS = 30;

/** Maintenance: events older than the log keeps, with nothing pending, go with their deliveries. */
export async function pruneWebhookLog(db: DbOrTx): Promise<number> {
  return db('webhook_events as e')
    .where('e.created_at', '<', db.raw(`now() - make_interval(days => ?)`, [WEBHOOK_LOG_DAYS]))
    .whereNotExists(db('webhook_deliveries as d').whereRaw('d.event_id = e.id').where('d.status', 'pending').select(db.raw('1')))
    .delete();
}
