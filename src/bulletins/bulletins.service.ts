import { appendAudit } from '../audit/audit.repository.js';
import { progressOf } from '../shared/progress.js';
import { findActiveStaffUser } from '../auth/staff.repository.js';
import { audienceChoices } from '../consent/audience.service.js';
import { queueMail, type ServiceContext } from '../context.js';
import { inTransaction } from '../db.js';
import { sendCapacity } from '../mail/send-rate.js';
import { ConflictError, NotFoundError, translateRefusal, ValidationError, type Refusals } from '../shared/errors.js';
import { bulletinPreview, bulletinTestEmail } from './bulletins.emails.js';
import {
  archivedBulletins,
  bulletinCounts,
  bulletinTopics,
  deleteDraftBulletin,
  failureReasons,
  findArchiveTopic,
  findBulletin,
  holdReleased,
  insertBulletin,
  listBulletins,
  lockBulletin,
  requeueFailedOf,
  setBulletinState,
  unsubscribedVia,
  updateDraftBulletin,
  withdrawQueued,
  type BulletinWithTopic,
} from './bulletins.repository.js';
import type { BulletinInput, SendWhen } from './bulletins.schemas.js';
import { beginSending, bulletinParts, scheduleStart, wakeDispatcher } from './sending.service.js';

const FROZEN = 'This bulletin is confirmed for sending or sent: it can no longer be changed. Cancel a scheduled one to edit it again.';

const REFUSALS: Refusals = {
  bulletins_topic_kind: ['topic_id', 'Choose a current e-mail topic: a newsletter, an announcement or a partner offer.'],
  bulletins_topic_id_fkey: ['topic_id', 'Choose one of the listed topics.'],
  bulletins_frozen: FROZEN,
};

function formValues(input: BulletinInput): Record<string, unknown> {
  return { ...input, topic_id: String(input.topic_id), web_version: input.web_version ? 'yes' : undefined };
}

export async function bulletinsOverview(svc: ServiceContext): Promise<BulletinWithTopic[]> {
  return listBulletins(svc.db);
}

export function composeChoices(svc: ServiceContext) {
  return bulletinTopics(svc.db).then((topics) => ({ topics }));
}

export async function findBulletinOr404(svc: ServiceContext, id: number): Promise<BulletinWithTopic> {
  const b = await findBulletin(svc.db, id);
  if (!b) throw new NotFoundError('There is no bulletin with that number.');
  return b;
}

export async function findDraftOr409(svc: ServiceContext, id: number): Promise<BulletinWithTopic> {
  const b = await findBulletinOr404(svc, id);
  if (b.status !== 'draft') throw new ConflictError(FROZEN);
  return b;
}

export async function createBulletin(svc: ServiceContext, staffUserId: string, input: BulletinInput): Promise<number> {
  return inTransaction(svc.db, async (trx) => {
    const id = await insertBulletin(trx, { ...input, created_by: staffUserId }).catch((err: unknown) =>
      translateRefusal(err, REFUSALS, formValues(input)),
    );
    await appendAudit(trx, { staffUserId, action: 'bulletin.created', details: { bulletinId: id, topicId: input.topic_id } });
    return id;
  });
}

export async function updateBulletin(svc: ServiceContext, staffUserId: string, id: number, input: BulletinInput): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const b = await lockBulletin(trx, id);
    if (!b) throw new NotFoundError('There is no bulletin with that number.');
    if (b.status !== 'draft') throw new ConflictError(FROZEN);
    await updateDraftBulletin(trx, id, input).catch((err: unknown) => translateRefusal(err, REFUSALS, formValues(input)));
    await appendAudit(trx, { staffUserId, action: 'bulletin.updated', details: { bulletinId: id, topicId: input.topic_id } });
  });
}

export async function deleteBulletin(svc: ServiceContext, staffUserId: string, id: number): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const b = await lockBulletin(trx, id);
    if (!b) throw new NotFoundError('There is no bulletin with that number.');
    if (!(await deleteDraftBulletin(trx, id))) throw new ConflictError('Only a draft can be deleted: this bulletin is confirmed or sent.');
    await appendAudit(trx, { staffUserId, action: 'bulletin.deleted', details: { bulletinId: id, subject: b.subject } });
  });
}

/** The preview page: the HTML and text parts and the headers exactly as a member gets them, with the sample member. */
export async function previewBulletin(svc: ServiceContext, id: number, now = new Date()) {
  const bulletin = await findBulletinOr404(svc, id);
  return { bulletin, ...bulletinPreview(svc.mail, bulletinParts(svc, bulletin), now) };
}

/** "Send me a test": the sample copy to the staff user's own address, outside any audience; audited. */
export async function sendTest(svc: ServiceContext, staffUserId: string, id: number, now = new Date()): Promise<string> {
  return inTransaction(svc.db, async (trx) => {
    const bulletin = await findBulletin(trx, id);
    if (!bulletin) throw new NotFoundError('There is no bulletin with that number.');
    const staff = await findActiveStaffUser(trx, staffUserId);
    if (!staff) throw new NotFoundError('Your staff account was not found.');
    await queueMail(trx, svc, bulletinTestEmail(svc.mail, bulletinParts(svc, bulletin), staff.email, now));
    await appendAudit(trx, { staffUserId, action: 'bulletin.test_sent', details: { bulletinId: id } });
    return staff.email;
  });
}

/**
 * C12: how many members the bulletin would go to now: active, confirmed, opted in to its topic,
 * deliverable and not suppressed (the audience export's own definition).
 */
export async function audienceSize(svc: ServiceContext, topicId: number): Promise<number> {
  const topics = await audienceChoices(svc);
  return Number(topics.find((t) => t.id === topicId)?.deliverable ?? 0);
}

/** What the send and confirm pages show: the draft, and its audience now. */
export async function sendPage(svc: ServiceContext, id: number) {
  const bulletin = await findDraftOr409(svc, id);
  return { bulletin, audience: await audienceSize(svc, bulletin.topic_id) };
}

/**
 * The editor confirmed, having been shown the audience: send now (the snapshot starts in this
 * transaction) or at a time (a job waits for it). Audited either way. Who is sent it is decided at
 * the moment of sending, by their consent then (C3).
 */
export async function confirmSend(
  svc: ServiceContext,
  staffUserId: string,
  id: number,
  c: SendWhen & { audience: number },
  opts: { batchSize?: number } = {},
): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const b = await lockBulletin(trx, id);
    if (!b) throw new NotFoundError('There is no bulletin with that number.');
    if (b.status !== 'draft') throw new ConflictError('This bulletin is already confirmed or sent.');
    if (b.topic_retired) throw new ValidationError({ form: 'Its topic is retired: choose a current topic first.' });
    await setBulletinState(trx, id, { confirmed_by: staffUserId, audience_confirmed: c.audience });
    if (c.when === 'later' && c.at) {
      await setBulletinState(trx, id, { status: 'scheduled', scheduled_at: c.at });
      await scheduleStart(trx, id, c.at);
      await appendAudit(trx, {
        staffUserId,
        action: 'bulletin.scheduled',
        details: { bulletinId: id, topicId: b.topic_id, at: c.at.toISOString(), audience: c.audience },
      });
      return;
    }
    await beginSending(trx, id, opts.batchSize);
    await appendAudit(trx, {
      staffUserId,
      action: 'bulletin.sent',
      details: { bulletinId: id, topicId: b.topic_id, audience: c.audience },
    });
  });
}

type Control = 'pause' | 'resume' | 'cancel' | 'retry';
const AUDITED_AS: Record<Control, string> = {
  pause: 'bulletin.paused',
  resume: 'bulletin.resumed',
  cancel: 'bulletin.cancelled',
  retry: 'bulletin.retried',
};

/**
 * Pause, resume, cancel or retry the failed, until every message has gone; each audited. Pausing
 * holds every message not yet handed to SMTP; cancelling withdraws them (a scheduled bulletin goes
 * back to being a draft); retrying puts failed messages that were not refused for good back in.
 */
export async function controlSending(svc: ServiceContext, staffUserId: string, id: number, action: Control): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const b = await lockBulletin(trx, id);
    if (!b) throw new NotFoundError('There is no bulletin with that number.');
    const refuse = (why: string): never => {
      throw new ConflictError(why);
    };
    let details: Record<string, unknown> = { bulletinId: id };
    if (action === 'pause') {
      if (b.status !== 'sending') refuse('Only a bulletin that is sending can be paused.');
      await setBulletinState(trx, id, { status: 'paused' });
      details = { ...details, held: await holdReleased(trx, id) };
    } else if (action === 'resume') {
      if (b.status !== 'paused') refuse('Only a paused bulletin can be resumed.');
      await setBulletinState(trx, id, { status: 'sending' });
      await wakeDispatcher(trx, id);
    } else if (action === 'cancel') {
      if (b.status === 'scheduled') {
        await setBulletinState(trx, id, { status: 'draft', scheduled_at: null, confirmed_by: null, audience_confirmed: null });
        details = { ...details, wasScheduled: true };
      } else {
        if (b.status !== 'sending' && b.status !== 'paused') refuse('Only a scheduled, sending or paused bulletin can be cancelled.');
        await setBulletinState(trx, id, { status: 'cancelled', cancelled_at: new Date() });
        details = { ...details, withdrawn: await withdrawQueued(trx, id) };
      }
    } else {
      if (b.status !== 'sending' && b.status !== 'sent')
        refuse('Failed messages can be retried while the bulletin is sending or once it is sent.');
      const requeued = await requeueFailedOf(trx, id);
      if (requeued > 0) {
        await setBulletinState(trx, id, { status: 'sending', finished_at: null });
        await wakeDispatcher(trx, id);
      }
      details = { ...details, requeued };
    }
    await appendAudit(trx, { staffUserId, action: AUDITED_AS[action], details });
  });
}

/** The progress page's figures, as of `now`, with the expected finish under the rate limits. */
export async function bulletinProgress(svc: ServiceContext, b: BulletinWithTopic, now = new Date()) {
  const [counts, reasons, unsubscribed, capacity] = await Promise.all([
    bulletinCounts(svc.db, b.id),
    failureReasons(svc.db, b.id),
    unsubscribedVia(svc.db, b.id),
    sendCapacity(svc.db, svc.config.sendRate),
  ]);
  const notYetSnapshotted = b.snapshot_finished_at ? 0 : Math.max(0, (b.audience_confirmed ?? 0) - counts.recipients);
  const remaining = counts.queued + notYetSnapshotted;
  const expectedFinish =
    b.status === 'sending' && remaining > 0
      ? new Date(now.getTime() + secondsToSend(remaining, svc.config.sendRate, capacity.thisHour, counts.sent_last_minute) * 1000)
      : null;
  const bar = progressOf({
    done: counts.recipients - counts.queued,
    total: counts.recipients + notYetSnapshotted,
    startedAt: b.started_at ?? now,
    finishedAt: b.finished_at,
    now,
    estimate: expectedFinish,
  });
  return { counts, reasons, unsubscribed, remaining, expectedFinish, bar, asOf: now, rate: svc.config.sendRate };
}

/**
 * How long the remaining messages take under the limits: at the per-second rate (or the rate
 * seen in the last minute, if slower) while the hour has room, then a full hour per hourly batch.
 */
export function secondsToSend(
  remaining: number,
  rate: { perSecond: number; perHour: number },
  hourLeft: number,
  sentLastMinute: number,
): number {
  const observed = sentLastMinute / 60;
  const perSecond = observed > 0 && observed < rate.perSecond ? observed : rate.perSecond;
  const now = Math.min(remaining, hourLeft);
  const later = remaining - now;
  if (later === 0) return Math.ceil(now / perSecond);
  const fullHours = Math.ceil(later / rate.perHour);
  const lastBatch = later - (fullHours - 1) * rate.perHour;
  return fullHours * 3600 + Math.ceil(lastBatch / perSecond);
}

/** The public archive of a topic: its past web versions, no personal data. */
export async function topicArchive(svc: ServiceContext, slug: string) {
  const topic = await findArchiveTopic(svc.db, slug);
  if (!topic) throw new NotFoundError('There is no such list.');
  const bulletins = await archivedBulletins(svc.db, slug);
  if (bulletins.length === 0) throw new NotFoundError('This list has no public archive.');
  return { topic, bulletins };
}

/** One past bulletin's web version, if it has one and has gone out. */
export async function webVersion(svc: ServiceContext, slug: string, id: number) {
  const b = await findBulletin(svc.db, id);
  if (!b || b.topic_slug !== slug || !b.web_version || !b.started_at) throw new NotFoundError('There is no such bulletin.');
  return { bulletin: b, parts: bulletinParts(svc, b) };
}
