import { randomBytes } from 'node:crypto';
import { appendAudit } from '../audit/audit.repository.js';
import type { ServiceContext } from '../context.js';
import { inTransaction } from '../db.js';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors.js';
import { addDeliveryJob, WEBHOOK_EVENT_TYPES } from '../events/webhook-events.js';
import {
  deleteEndpoint,
  deliveryLog,
  DELIVERY_STATUSES,
  enableEndpoint,
  endpointOfDelivery,
  findEndpoint,
  insertEndpoint,
  listEndpoints,
  resetDelivery,
  type DeliveryStatus,
} from './webhooks.repository.js';
import type { WebhookEndpointInput } from './webhooks.schemas.js';
import { checkedAddresses, TargetRefused } from './webhooks.targets.js';

export { WEBHOOK_EVENT_TYPES, DELIVERY_STATUSES };

const NOT_FOUND = 'There is no such webhook endpoint.';

/** A Standard Webhooks secret: "whsec_" and 24 random bytes in base64. */
function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/**
 * Adds an endpoint (admins only). In production it must be https; outside development and test
 * its host must resolve only to public addresses (SSRF; checked again at every delivery). The
 * secret is returned once, to be shown once: staff cannot see it again.
 */
export async function createEndpoint(
  svc: ServiceContext,
  staffUserId: string,
  input: WebhookEndpointInput,
): Promise<{ id: number; secret: string }> {
  const url = new URL(input.url);
  if (svc.config.isProduction && url.protocol !== 'https:')
    throw new ValidationError({ url: 'Use an https:// URL: events carry member ids and must be encrypted on the way.' }, input);
  try {
    await checkedAddresses(url, svc.config.webhooks.allowPrivateTargets);
  } catch (err) {
    if (err instanceof TargetRefused) throw new ValidationError({ url: err.message }, input);
    throw err;
  }
  const secret = newSecret();
  const id = await inTransaction(svc.db, async (trx) => {
    const id = await insertEndpoint(trx, {
      url: url.toString(),
      description: input.description,
      events: input.events,
      secret,
      created_by: staffUserId,
    });
    await appendAudit(trx, { staffUserId, action: 'webhook.created', details: { endpointId: id, events: input.events } });
    return id;
  });
  return { id, secret };
}

export async function endpointsPage(svc: ServiceContext) {
  return { endpoints: await listEndpoints(svc.db), eventTypes: WEBHOOK_EVENT_TYPES };
}

/** An endpoint and its delivery log (newest first), optionally of one status. */
export async function endpointPage(svc: ServiceContext, id: number, status?: DeliveryStatus) {
  const row = await findEndpoint(svc.db, id);
  if (!row) throw new NotFoundError(NOT_FOUND);
  const { secret: _secret, ...endpoint } = row;
  return { endpoint, deliveries: await deliveryLog(svc.db, id, status) };
}

/** Sends a delivery that ended (delivered or failed) again, from its first attempt. */
export async function resendDelivery(svc: ServiceContext, staffUserId: string, deliveryId: number): Promise<number> {
  return inTransaction(svc.db, async (trx) => {
    const endpointId = await endpointOfDelivery(trx, deliveryId);
    if (endpointId === undefined) throw new NotFoundError('There is no such delivery.');
    const endpoint = await findEndpoint(trx, endpointId);
    if (!endpoint) throw new NotFoundError(NOT_FOUND);
    if (!endpoint.enabled) throw new ConflictError('This endpoint is disabled: enable it first, then resend.');
    if (!(await resetDelivery(trx, endpointId, deliveryId)))
      throw new ConflictError('That delivery is still being tried: wait for its next attempt.');
    await addDeliveryJob(trx, deliveryId);
    await appendAudit(trx, { staffUserId, action: 'webhook.resent', details: { endpointId, deliveryId } });
    return endpointId;
  });
}

export async function enableWebhookEndpoint(svc: ServiceContext, staffUserId: string, id: number): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    if (!(await enableEndpoint(trx, id))) throw new NotFoundError(NOT_FOUND);
    await appendAudit(trx, { staffUserId, action: 'webhook.enabled', details: { endpointId: id } });
  });
}

export async function deleteWebhookEndpoint(svc: ServiceContext, staffUserId: string, id: number): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    if (!(await deleteEndpoint(trx, id))) throw new NotFoundError(NOT_FOUND);
    await appendAudit(trx, { staffUserId, action: 'webhook.deleted', details: { endpointId: id } });
  });
}
