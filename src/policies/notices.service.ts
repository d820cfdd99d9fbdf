import type { Knex } from 'knex';
import { z } from 'zod';
import { addJob } from '../shared/queue.js';
import { queueMail, type ServiceContext } from '../context.js';
import { isSuppressed, suppressedAmong } from '../shared/suppression.js';
import {
  claimNotice,
  countReachableMembers,
  finishNoticeRun,
  insertNoticeRun,
  findReachableMember,
  nextReachableMembers,
  recordNotice,
} from './notices.repository.js';
import { policyNoticeEmail } from './policies.emails.js';
import { findPolicyById, listUpcomingPolicies, type PolicyVersionRow } from './policies.repository.js';

/**
 * The notice of a published policy version (C7, C8), to every member with a deliverable address,
 * exactly once: a chain of batch jobs, each one transaction that records, queues and adds the next.
 */
export const POLICY_NOTICE_BATCH_TASK = 'policy_notice_batch';
/** Members handled per job (and per transaction). A job payload may ask for fewer (tests). */
export const NOTICE_BATCH_SIZE = 200;
const BATCH_JOB_MAX_ATTEMPTS = 25;

export const BatchPayload = z.object({
  policyVersionId: z.number().int().positive(),
  /** Keyset cursor: the last member id handled by the previous batch. */
  after: z.string().uuid().nullable(),
  batchSize: z.number().int().min(1).max(10000).optional(),
});
export type BatchPayload = z.infer<typeof BatchPayload>;

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
    { maxAttempts: BATCH_JOB_MAX_ATTEMPTS, jobKey: `policy-notice:${payload.policyVersionId}:${payload.after ?? 'start'}` },
  );
}

/**
 * C7: called in the transaction that publishes the version. Records how many members have an
 * address now and queues the first batch; the notices themselves go out batch by batch.
 */
export async function startNoticeFanout(trx: Knex.Transaction, policyVersionId: number, batchSize?: number): Promise<number> {
  const membersToNotify = await countReachableMembers(trx);
  await insertNoticeRun(trx, policyVersionId, membersToNotify);
  await enqueueBatch(trx, { policyVersionId, after: null, batchSize });
  return membersToNotify;
}

/**
 * C7: queues the notice of an upcoming policy version to one member, with their manage link
 * (to choose a new use, C8) and their unsubscribe link (it is bulk mail, C4). A member without a
 * deliverable address (not active, no e-mail, marked undeliverable, or on the suppression list,
 * C6/C12) gets nothing: the answer is then null, otherwise the id of the queued message.
 */
export async function queuePolicyNotice(
  trx: Knex.Transaction,
  svc: ServiceContext,
  memberId: string,
  policy: PolicyVersionRow,
): Promise<string | null> {
  const member = await findReachableMember(trx, memberId);
  if (!member || !policy.effective_at) return null;
  if (await isSuppressed(trx, member.email, svc.keys.suppression)) return null;
  return queueMail(
    trx,
    svc,
    policyNoticeEmail(svc.mail, {
      to: member.email,
      memberId,
      memberName: member.name,
      version: policy.version,
      title: policy.title,
      summary: policy.summary,
      effectiveAt: policy.effective_at,
      introducesNewUse: policy.introduces_new_use,
      manageUrl: svc.links.manage(memberId),
      unsubscribe: svc.links.unsubscribe(memberId, 'all'),
    }),
  );
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
  if (!(await claimNotice(trx, policy.id, memberId, leftOut)) || leftOut) return false;
  const messageId = await queuePolicyNotice(trx, svc, memberId, policy);
  await recordNotice(trx, policy.id, memberId, messageId);
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
    const members = await nextReachableMembers(trx, payload.after, size);
    const suppressed = await suppressedAmong(
      trx,
      svc.keys.suppression,
      members.map((m) => m.email),
    );
    let queued = 0;
    for (const m of members) {
      if (await noticeOnce(trx, svc, policy, m.id, suppressed.has(m.email) ? 'suppressed' : null)) queued++;
    }
    const last = members.at(-1);
    if (members.length < size || !last) {
      await finishNoticeRun(trx, policy.id);
      return { handled: members.length, queued, finished: true };
    }
    await enqueueBatch(trx, { policyVersionId: policy.id, after: last.id, batchSize: payload.batchSize });
    return { handled: members.length, queued, finished: false };
  });
}
