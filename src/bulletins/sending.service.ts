import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { ServiceContext } from '../context.js';
import { addSendJobBatches } from '../mail/outbox.js';
import { insertEmailMessages, type NewEmailMessage } from '../mail/outbox.repository.js';
import { nextSendSlot, releaseWindow, sendCapacity } from '../mail/send-rate.js';
import { addJob } from '../shared/queue.js';
import { suppressedAmong } from '../shared/suppression.js';
import { tryXactLock, XACT_LOCKS } from '../shared/xact-lock.js';
import { bulletinCopies, bulletinMessageId, renderBulletinBody, type BulletinParts } from './bulletins.emails.js';
import {
  claimRecipients,
  lockBulletin,
  nextAudienceMembers,
  queuedCounts,
  releaseHeld,
  setBulletinState,
  type BulletinWithTopic,
  type RecipientClaim,
} from './bulletins.repository.js';

/**
 * Sending a bulletin survives crashes the way the policy notice does. Three job chains, each step
 * one transaction that also adds the next step's job, so a worker killed anywhere leaves either
 * the whole step or none of it:
 * - start (a scheduled bulletin's time has come): the bulletin is marked sending, the first
 *   snapshot batch is queued;
 * - snapshot: the next members opted in to the topic NOW each get a bulletin_recipients row and,
 *   unless left out, their own message, held; the next batch is queued and the dispatcher woken;
 * - dispatch: releases held messages (adds their send jobs, a batch job per 8) as fast as the shared send rate allows,
 *   keeping only a small number released and unsent, so pausing and cancelling act at once.
 * The send task (mail/) sends each message, checking consent just before (C3) and taking its slot
 * of the rate limit; everything it must know is on the message row.
 */
export const BULLETIN_START_TASK = 'bulletin_start';
export const BULLETIN_SNAPSHOT_TASK = 'bulletin_snapshot';
export const BULLETIN_DISPATCH_TASK = 'bulletin_dispatch';

/** Members handled per snapshot batch (and per transaction). A payload may ask for fewer (tests). */
export const SNAPSHOT_BATCH_SIZE = 500;
/** The most messages one dispatch releases at once. */
const RELEASE_MAX = 500;
const CHAIN_MAX_ATTEMPTS = 25;
/**
 * The chain's jobs go before send jobs (graphile-worker runs lower numbers first): the snapshot and
 * the dispatcher must not wait behind the very messages they released.
 */
const CHAIN_PRIORITY = -10;

export const StartPayload = z.object({ bulletinId: z.number().int().positive() });
export const SnapshotPayload = z.object({
  bulletinId: z.number().int().positive(),
  after: z.string().uuid().nullable(),
  batchSize: z.number().int().min(1).max(5000).optional(),
});
export type SnapshotPayload = z.infer<typeof SnapshotPayload>;
export const DispatchPayload = StartPayload;

export function scheduleStart(trx: Knex.Transaction, bulletinId: number, at: Date): Promise<void> {
  return addJob(
    trx,
    BULLETIN_START_TASK,
    { bulletinId },
    { maxAttempts: CHAIN_MAX_ATTEMPTS, priority: CHAIN_PRIORITY, jobKey: `bulletin-start:${bulletinId}`, runAt: at },
  );
}

function queueSnapshot(trx: Knex.Transaction, p: SnapshotPayload): Promise<void> {
  return addJob(
    trx,
    BULLETIN_SNAPSHOT_TASK,
    { ...p },
    { maxAttempts: CHAIN_MAX_ATTEMPTS, priority: CHAIN_PRIORITY, jobKey: `bulletin-snapshot:${p.bulletinId}:${p.after ?? 'start'}` },
  );
}

/** Wakes the bulletin's dispatcher now, or at a given time; its job key keeps it to one waiting job. */
export function wakeDispatcher(trx: Knex.Transaction, bulletinId: number, at?: Date): Promise<void> {
  return addJob(
    trx,
    BULLETIN_DISPATCH_TASK,
    { bulletinId },
    { maxAttempts: CHAIN_MAX_ATTEMPTS, priority: CHAIN_PRIORITY, jobKey: `bulletin-dispatch:${bulletinId}`, runAt: at },
  );
}

/** In the caller's transaction, with the bulletin locked: it is sending from now, its snapshot begins. */
export async function beginSending(trx: Knex.Transaction, bulletinId: number, batchSize?: number): Promise<void> {
  await setBulletinState(trx, bulletinId, { status: 'sending', started_at: new Date(), scheduled_at: null });
  await queueSnapshot(trx, { bulletinId, after: null, batchSize });
}

/** A scheduled bulletin's time has come (the job runs at scheduled_at); anything else leaves it alone. */
export async function runStart(svc: ServiceContext, bulletinId: number): Promise<boolean> {
  return svc.db.transaction(async (trx) => {
    const b = await lockBulletin(trx, bulletinId);
    if (!b || b.status !== 'scheduled' || !b.scheduled_at || b.scheduled_at.getTime() > Date.now() + 1000) return false;
    await beginSending(trx, bulletinId);
    return true;
  });
}

/** The parts every copy shares, rendered once per batch. */
export function bulletinParts(svc: ServiceContext, b: BulletinWithTopic): BulletinParts {
  return {
    bulletinId: b.id,
    subject: b.subject,
    preheader: b.preheader,
    topic: { id: b.topic_id, name: b.topic_name, slug: b.topic_slug },
    body: renderBulletinBody(b.body),
    webUrl: b.web_version ? `${svc.config.baseUrl}/bulletins/${b.topic_slug}/${b.id}` : null,
    orgAddress: svc.config.orgAddress,
  };
}

export interface SnapshotResult {
  handled: number;
  queued: number;
  finished: boolean;
}

/**
 * One snapshot batch in ONE transaction: the next members opted in to the topic now (C3, C12) are
 * claimed as recipients (the primary key skips anyone already claimed), each deliverable one gets
 * their message (held until the dispatcher releases it), undeliverable and suppressed ones are
 * recorded as left out, the next batch is queued and the dispatcher woken.
 */
export async function runSnapshotBatch(svc: ServiceContext, p: SnapshotPayload): Promise<SnapshotResult> {
  const size = p.batchSize ?? SNAPSHOT_BATCH_SIZE;
  return svc.db.transaction(async (trx) => {
    const b = await lockBulletin(trx, p.bulletinId, 'shared');
    if (!b || b.snapshot_finished_at || !['sending', 'paused'].includes(b.status)) return { handled: 0, queued: 0, finished: true };
    const members = await nextAudienceMembers(trx, b.topic_id, p.after, size);
    const suppressed = await suppressedAmong(
      trx,
      svc.keys.suppression,
      members.filter((m) => !m.undeliverable).map((m) => m.email),
    );
    const claims: RecipientClaim[] = members.map((m) => ({
      member_id: m.id,
      left_out_reason: m.undeliverable ? 'undeliverable' : suppressed.has(m.email) ? 'suppressed' : null,
      email_message_id: m.undeliverable || suppressed.has(m.email) ? null : randomUUID(),
    }));
    const claimed = await claimRecipients(trx, b.id, claims);
    const copyFor = bulletinCopies(svc.mail, bulletinParts(svc, b));
    const host = svc.outbox.messageIdHost;
    const rows: NewEmailMessage[] = [];
    for (const [i, m] of members.entries()) {
      const emailId = claims[i]!.email_message_id;
      if (!emailId || !claimed.has(m.id)) continue;
      const email = copyFor(
        { memberId: m.id, email: m.email, name: m.name, chosenAt: m.chosen_at },
        {
          unsubscribe: svc.links.unsubscribe(m.id, b.topic_id, b.id),
          manage: svc.links.manage(m.id),
        },
      );
      rows.push({
        id: emailId,
        kind: email.kind,
        recipient: email.to,
        member_id: m.id,
        topic_id: b.topic_id,
        message_id: bulletinMessageId(b.id, m.id, host),
        subject: email.subject,
        text_body: email.text,
        html_body: email.html,
        headers: email.headers,
        held: true,
        rate_limited: true,
        bulletin_id: b.id,
      });
    }
    await insertEmailMessages(trx, rows);
    const last = members.at(-1);
    const finished = members.length < size || !last;
    if (finished) await setBulletinState(trx, b.id, { snapshot_finished_at: new Date() });
    else await queueSnapshot(trx, { bulletinId: b.id, after: last.id, batchSize: p.batchSize });
    if (b.status === 'sending') await wakeDispatcher(trx, b.id);
    return { handled: members.length, queued: rows.length, finished };
  });
}

export interface DispatchResult {
  released: number;
  /** When the dispatcher runs next; null when the bulletin needs it no more, or another dispatch runs. */
  next: Date | null;
  finished: boolean;
  /** Another dispatch of the bulletin was running: this one did nothing. */
  busy?: boolean;
}

/**
 * One dispatch, in one transaction with the bulletin locked, unless another dispatch of it is running:
 * releases as many held messages as the shared rate leaves room for this second and this hour,
 * keeping the released-but-unsent window small, adds their send jobs, and sets its own next run.
 * Once the snapshot is done and no message is left queued, the bulletin is sent.
 */
export async function runDispatch(svc: ServiceContext, bulletinId: number): Promise<DispatchResult> {
  const rate = svc.config.sendRate;
  return svc.db.transaction(async (trx) => {
    // Another dispatch of this bulletin is running (a wake while it ran made this job): it sets its
    // own next run, which sees whatever this wake was for. Two side by side would count the release
    // window twice and could deadlock on the same rows; waiting would hold a worker slot for nothing.
    if (!(await tryXactLock(trx, XACT_LOCKS.bulletinDispatch, bulletinId))) return { released: 0, next: null, finished: false, busy: true };
    const b = await lockBulletin(trx, bulletinId, 'shared');
    if (!b || b.status !== 'sending') return { released: 0, next: null, finished: false };
    const { held, released: inFlight } = await queuedCounts(trx, b.id, RELEASE_MAX);
    const now = Date.now();
    if (held === 0) {
      if (b.snapshot_finished_at && inFlight === 0) {
        await setBulletinState(trx, b.id, { status: 'sent', finished_at: new Date() });
        return { released: 0, next: null, finished: true };
      }
      // Waiting for the snapshot (which wakes us) or for sends and their retries to end.
      const next = new Date(now + (inFlight > 0 ? 2000 : 1000));
      await wakeDispatcher(trx, b.id, next);
      return { released: 0, next, finished: false };
    }
    const room = releaseWindow(rate.perSecond) - inFlight;
    const capacity = await sendCapacity(trx, rate);
    const n = Math.max(0, Math.min(room, capacity.thisSecond, capacity.thisHour, held, RELEASE_MAX));
    const ids = n > 0 ? await releaseHeld(trx, b.id, n) : [];
    await addSendJobBatches(trx, ids, svc.outbox.maxAttempts);
    let next: Date;
    // The hour used up: back when its first slot frees; the second used up: back at the next one.
    if (capacity.thisHour <= ids.length) next = await nextSendSlot(trx, rate);
    else if (capacity.thisSecond <= ids.length) next = capacity.nextSecond;
    else if (room <= ids.length) next = new Date(now + 100);
    else next = new Date(now);
    await wakeDispatcher(trx, b.id, next);
    return { released: ids.length, next, finished: false };
  });
}
