import http from 'node:http';
import https from 'node:https';
import type { Task } from 'graphile-worker';
import { Webhook } from 'standardwebhooks';
import type { WebhooksConfig } from '../config.js';
import { queueMail, type ServiceContext } from '../context.js';
import { inTransaction } from '../db.js';
import type { Logger } from '../shared/logger.js';
import { webhookDisabledEmail } from './webhooks.emails.js';
import { addDeliveryJob } from '../events/webhook-events.js';
import {
  activeAdmins,
  clearFailing,
  disableEndpoint,
  failPendingOf,
  findDeliveryToSend,
  markFailing,
  recordDelivered,
  recordFailedAttempt,
} from './webhooks.repository.js';
import { checkedAddresses, pinnedLookup, TargetRefused } from './webhooks.targets.js';

export interface PostResult {
  ok: boolean;
  code: number | null;
  error: string;
}

/**
 * One signed POST (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature). The host
 * is resolved and every address checked now, at delivery time, and the connection goes to a
 * checked address (a DNS answer that changed since the endpoint was saved is caught here).
 * Redirects are not followed: a 3xx is a failure, so a receiver cannot bounce us elsewhere.
 */
export async function postSigned(
  target: { url: string; secret: string },
  message: { id: string; body: string; at: Date },
  opts: { allowPrivate: boolean; timeoutMs: number },
): Promise<PostResult> {
  const url = new URL(target.url);
  let addresses;
  try {
    addresses = await checkedAddresses(url, opts.allowPrivate);
  } catch (err) {
    if (err instanceof TargetRefused) return { ok: false, code: null, error: err.message };
    throw err;
  }
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Assent-Webhooks/1',
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(message.at.getTime() / 1000)),
    'webhook-signature': new Webhook(target.secret).sign(message.id, message.at, message.body),
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<PostResult>((resolve) => {
    const req = client.request(
      url,
      { method: 'POST', headers, lookup: pinnedLookup(addresses) as never, timeout: opts.timeoutMs, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          const ok = code >= 200 && code < 300;
          resolve({ ok, code, error: ok ? '' : `HTTP ${code}` });
        });
        res.on('error', (err) => resolve({ ok: false, code: res.statusCode ?? null, error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs / 1000} s`)));
    req.on('error', (err) => resolve({ ok: false, code: null, error: err.message }));
    req.end(message.body);
  });
}

/** When the next attempt after this many failed ones is due; null once the schedule is spent. */
export function nextAttemptAt(schedule: readonly number[], failedAttempts: number, now = new Date()): Date | null {
  const delay = schedule[failedAttempts - 1];
  return delay === undefined ? null : new Date(now.getTime() + delay * 1000);
}

/**
 * An endpoint failing for longer than the configured time is disabled, its waiting deliveries end
 * as failed, and every admin is told by e-mail, in one transaction (the mail goes through the outbox).
 */
async function disableIfFailingTooLong(
  svc: ServiceContext,
  cfg: WebhooksConfig,
  endpoint: { id: number; url: string },
  failingSince: Date,
  lastError: string,
  logger: Logger,
): Promise<void> {
  if (Date.now() - failingSince.getTime() < cfg.disableAfterHours * 3600_000) return;
  await inTransaction(svc.db, async (trx) => {
    const reason = `Failed every delivery for ${cfg.disableAfterHours} hours; last answer: ${lastError}`;
    if (!(await disableEndpoint(trx, endpoint.id, reason))) return;
    await failPendingOf(trx, endpoint.id, 'endpoint disabled');
    for (const admin of await activeAdmins(trx)) {
      await queueMail(
        trx,
        svc,
        webhookDisabledEmail(svc.mail, {
          to: admin.email,
          name: admin.name,
          endpointId: endpoint.id,
          url: endpoint.url,
          failingSince,
          lastError,
        }),
      );
    }
    logger.warn({ event: 'webhook.endpoint_disabled', endpointId: endpoint.id });
  });
}

/**
 * Makes one attempt at one delivery. Jobs run at least once, so the row decides: a delivery no
 * longer pending is left alone. A failure is recorded and the next attempt is a new job at the time
 * the schedule says (Standard Webhooks' schedule covers more than 24 hours); the job itself ends
 * without error, so graphile-worker's own retries are kept for a worker that died mid-attempt.
 */
export async function deliverOnce(svc: ServiceContext, deliveryId: number, logger: Logger): Promise<void> {
  const cfg = svc.config.webhooks;
  const found = await findDeliveryToSend(svc.db, deliveryId);
  if (!found || found.delivery.status !== 'pending') return;
  const { delivery, endpoint, event } = found;
  if (!endpoint.enabled) {
    await failPendingOf(svc.db, endpoint.id, 'endpoint disabled');
    return;
  }
  const attempt = delivery.attempts + 1;
  const result = await postSigned(
    endpoint,
    { id: event.id, body: JSON.stringify(event.payload), at: new Date() },
    { allowPrivate: cfg.allowPrivateTargets, timeoutMs: cfg.timeoutSeconds * 1000 },
  );
  if (result.ok) {
    await recordDelivered(svc.db, delivery.id, attempt, result.code!);
    await clearFailing(svc.db, endpoint.id);
    logger.info({ event: 'webhook.delivered', deliveryId, attempt });
    return;
  }
  const nextAt = nextAttemptAt(cfg.retrySchedule, attempt);
  await inTransaction(svc.db, async (trx) => {
    await recordFailedAttempt(trx, delivery.id, { attempts: attempt, code: result.code, error: result.error, nextAt });
    if (nextAt) await addDeliveryJob(trx, delivery.id, nextAt);
  });
  logger.warn({ event: nextAt ? 'webhook.retry' : 'webhook.failed', deliveryId, attempt, code: result.code });
  const failingSince = await markFailing(svc.db, endpoint.id);
  await disableIfFailingTooLong(svc, cfg, endpoint, failingSince, result.error, logger);
}

export function makeDeliverWebhookTask(svc: ServiceContext, logger: Logger): Task {
  return async (payload) => {
    const id = (payload as { id?: unknown } | null)?.id;
    if (typeof id !== 'number') return;
    await deliverOnce(svc, id, logger);
  };
}
