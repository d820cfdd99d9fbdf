import type { Task } from 'graphile-worker';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { DbOrTx } from '../db.js';
import type { ServiceContext } from '../shared/service-context.js';
import { lookupHashes } from '../shared/suppression.js';
import { queuePolicyNotice } from './notice.service.js';
import { findPolicyById, listUpcomingPolicies, type PolicyVersionRow } from './policies.repository.js';
import { addJob } from '../shared/queue.js';

export const POLICY_NOTICE_BATCH_TASK = 'policy_notice_batch';
/** Members handled per job (and per transaction). A job payload may ask for fewer (tests). */
export const NOTICE_BATCH_SIZE = 200;
const BATCH_JOB_MAX_ATTEMPTS = 25;

const BatchPayload = z.object({
  policyVersionId: z.number().int().positive(),
  /** Keyset cursor: the last member id handled by the previous batch. */
  after: z.string().uuid().nullable(),
  batchSize: z.number().int().min(1).max(10000).optional(),
});
type BatchPayload = z.infer<typeof BatchPayload>;

/** Members with a deliverable address as far as the members table knows (suppression is checked per batch). */
function reachableMembers(db: DbOrTx) {
  return db('members').where({ status: 'active' }).whereNotNull('email').whereNull('email_undeliverable_at');
}

/**
 * Adds a batch job inside the caller's transaction: it exists only if the batch before it (or
 * the publication) commits. The job key names the cursor, so a batch that runs twice does not
 * leave two waiting jobs for the same next batch.
 */
async function enqueueBatch(trx: Knex.Transaction, payload: BatchPayload): Promise<void> {
  await addJob(
    trx,
    POLICY_NOTICE_BATCH_TASK,
    { ...payload },
    {
      maxAttempts: BATCH_JOB_MAX_ATTEMPTS,
      jobKey: `policy-notice:${payload.policyVersionId}:${payload.after ?? 'start'}`,
    },
  );
}

/**
 * C7: called in the transaction that publishes the version. Records how many members have an
 * address now and queues the first batch; the notices themselves go out batch by batch.
 */
export async function startNoticeFanout(trx: Knex.Transaction, policyVersionId: number, batchSize?: number): Promise<number> {
  const row = (await reachableMembers(trx).count<{ n: number }[]>({ n: '*' }).first()) as { n: number } | undefined;
  const membersToNotify = Number(row?.n ?? 0);
  await trx('policy_notice_runs').insert({ policy_version_id: policyVersionId, members_to_notify: membersToNotify });
  await enqueueBatch(trx, { policyVersionId, after: null, batchSize });
  return membersToNotify;
}

async function suppressedAmong(trx: Knex.Transaction, svc: ServiceContext, emails: string[]): Promise<Set<string>> {
  const byHash = new Map<string, string>();
  for (const email of emails) for (const h of lookupHashes(email, svc.keys.suppression)) byHash.set(h, email);
  if (byHash.size === 0) return new Set();
  const rows = (await trx('suppression_list')
    .whereIn('address_hash', [...byHash.keys()])
    .select('address_hash')) as { address_hash: string }[];
  return new Set(rows.map((r) => byHash.get(r.address_hash)!));
}

/**
 * Records and queues one member's notice of the version, unless they already have one (the
 * primary key makes it once per member and version, whoever gets there first: a batch, or the
 * member's own join confirmation). Returns whether a notice was queued now.
 */
async function noticeOnce(
  trx: Knex.Transaction,
  svc: ServiceContext,
  policy: PolicyVersionRow,
  memberId: string,
  leftOut: 'suppressed' | null,
): Promise<boolean> {
  const inserted = await trx('policy_notices')
    .insert({ policy_version_id: policy.id, member_id: memberId, left_out_reason: leftOut })
    .onConflict(['policy_version_id', 'member_id'])
    .ignore()
    .returning('member_id');
  if (inserted.length === 0 || leftOut) return false;
  const messageId = await queuePolicyNotice(trx, svc, memberId, policy);
  await trx('policy_notices')
    .where({ policy_version_id: policy.id, member_id: memberId })
    .update(messageId ? { email_message_id: messageId } : { left_out_reason: 'not_deliverable' });
  return messageId !== null;
}

/**
 * C7: someone who becomes a member during a notice period was not a member when the version was
 * published, and the fan-out may already have passed their place: they get the notice when they
 * confirm (in that transaction), once, like everyone else.
 */
export async function noticeNewMember(trx: Knex.Transaction, svc: ServiceContext, memberId: string): Promise<void> {
  for (const upcoming of await listUpcomingPolicies(trx)) await noticeOnce(trx, svc, upcoming, memberId, null);
}

export interface BatchResult {
  handled: number;
  queued: number;
  finished: boolean;
}

/**
 * One batch in ONE transaction: the next members by id after the cursor each get a
 * policy_notices row (the primary key skips anyone already handled), their notice is queued in
 * the outbox, and the next batch job is added. If the worker stops or crashes anywhere in
 * between, the transaction rolls back whole and the job runs again: every member with a
 * deliverable address gets the notice exactly once.
 */
export async function runNoticeBatch(svc: ServiceContext, payload: BatchPayload): Promise<BatchResult> {
  const size = payload.batchSize ?? NOTICE_BATCH_SIZE;
  return svc.db.transaction(async (trx) => {
    const policy = await findPolicyById(trx, payload.policyVersionId);
    if (!policy?.published_at) return { handled: 0, queued: 0, finished: true };
    const query = reachableMembers(trx).orderBy('id').limit(size).select('id', 'email');
    if (payload.after) query.where('id', '>', payload.after);
    const members = (await query) as { id: string; email: string }[];
    const suppressed = await suppressedAmong(
      trx,
      svc,
      members.map((m) => m.email),
    );
    let queued = 0;
    for (const m of members) {
      if (await noticeOnce(trx, svc, policy, m.id, suppressed.has(m.email) ? 'suppressed' : null)) queued++;
    }
    const last = members.at(-1);
    if (members.length < size || !last) {
      await trx('policy_notice_runs')
        .where({ policy_version_id: policy.id })
        .whereNull('finished_at')
        .update({ finished_at: trx.fn.now() });
      return { handled: members.length, queued, finished: true };
    }
    await enqueueBatch(trx, { policyVersionId: policy.id, after: last.id, batchSize: payload.batchSize });
    return { handled: members.length, queued, finished: false };
  });
}

/** The worker task; a payload that does not parse is dropped with a log line, not retried. */
export function makePolicyNoticeBatchTask(svc: ServiceContext): Task {
  return async (payload, helpers) => {
    const parsed = BatchPayload.safeParse(payload);
    if (!parsed.success) {
      helpers.logger.error('policy notice batch: malformed payload, job dropped');
      return;
    }
    const result = await runNoticeBatch(svc, parsed.data);
    helpers.logger.info(
      `policy notice batch: version ${parsed.data.policyVersionId}, ${result.handled} handled, ${result.queued} queued${result.finished ? ', finished' : ''}`,
    );
  };
}

export interface NoticeProgress {
  membersToNotify: number;
  startedAt: Date;
  finishedAt: Date | null;
  /** Notices put in the outbox (whatever happened to them since). */
  queued: number;
  leftOut: number;
  waiting: number;
  sent: number;
  failed: number;
  cancelled: number;
}

export async function noticeProgress(db: DbOrTx, policyVersionId: number): Promise<NoticeProgress | undefined> {
  const run = (await db('policy_notice_runs').where({ policy_version_id: policyVersionId }).first()) as
    { members_to_notify: number; started_at: Date; finished_at: Date | null } | undefined;
  if (!run) return undefined;
  const counts = (await db('policy_notices as n')
    .leftJoin('email_messages as e', 'e.id', 'n.email_message_id')
    .where('n.policy_version_id', policyVersionId)
    .select(
      db.raw('count(n.email_message_id)::int AS queued'),
      db.raw('count(*) FILTER (WHERE n.left_out_reason IS NOT NULL)::int AS left_out'),
      db.raw(`count(*) FILTER (WHERE e.status = 'queued')::int AS waiting`),
      db.raw(`count(*) FILTER (WHERE e.status = 'sent')::int AS sent`),
      db.raw(`count(*) FILTER (WHERE e.status = 'failed')::int AS failed`),
      db.raw(`count(*) FILTER (WHERE e.status = 'cancelled')::int AS cancelled`),
    )
    .first()) as { queued: number; left_out: number; waiting: number; sent: number; failed: number; cancelled: number };
  return {
    membersToNotify: run.members_to_notify,
    startedAt: run.started_at,
    finishedAt: run.finished_at,
    queued: counts.queued,
    leftOut: counts.left_out,
    waiting: counts.waiting,
    sent: counts.sent,
    failed: counts.failed,
    cancelled: counts.cancelled,
  };
}
