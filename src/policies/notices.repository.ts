import type { DbOrTx } from '../db.js';

/**
 * The tables of the notice fan-out (C7): one policy_notice_runs row per published version, and one
 * policy_notices row per member and version (its primary key is what makes a notice once-only).
 */

/** Members with a deliverable address as far as the members table knows (suppression is checked per batch). */
function reachableMembers(db: DbOrTx) {
  return db('members').where({ status: 'active' }).whereNotNull('email').whereNull('email_undeliverable_at');
}

/** One member, if their address is deliverable as far as the members table knows (C12). */
export async function findReachableMember(db: DbOrTx, id: string): Promise<{ id: string; email: string; name: string | null } | undefined> {
  return reachableMembers(db).where({ id }).first('id', 'email', 'name');
}

export async function countReachableMembers(db: DbOrTx): Promise<number> {
  const row = (await reachableMembers(db).count<{ n: number }[]>({ n: '*' }).first()) as { n: number } | undefined;
  return Number(row?.n ?? 0);
}

/** The next reachable members by id after the cursor (keyset paging: stable whatever joins meanwhile). */
export async function nextReachableMembers(db: DbOrTx, after: string | null, limit: number): Promise<{ id: string; email: string }[]> {
  const query = reachableMembers(db).orderBy('id').limit(limit).select('id', 'email');
  if (after) query.where('id', '>', after);
  return query as Promise<{ id: string; email: string }[]>;
}

export async function insertNoticeRun(db: DbOrTx, policyVersionId: number, membersToNotify: number): Promise<void> {
  await db('policy_notice_runs').insert({ policy_version_id: policyVersionId, members_to_notify: membersToNotify });
}

export async function finishNoticeRun(db: DbOrTx, policyVersionId: number): Promise<void> {
  await db('policy_notice_runs')
    .where({ policy_version_id: policyVersionId })
    .whereNull('finished_at')
    .update({ finished_at: db.fn.now() });
}

/** Claims one member's notice of a version; false when someone (a batch, or their join) already has. */
export async function claimNotice(db: DbOrTx, policyVersionId: number, memberId: string, leftOut: 'suppressed' | null): Promise<boolean> {
  const inserted = await db('policy_notices')
    .insert({ policy_version_id: policyVersionId, member_id: memberId, left_out_reason: leftOut })
    .onConflict(['policy_version_id', 'member_id'])
    .ignore()
    .returning('member_id');
  return inserted.length > 0;
}

/** Records what became of a claimed notice: its message, or why none went. */
export async function recordNotice(db: DbOrTx, policyVersionId: number, memberId: string, messageId: string | null): Promise<void> {
  await db('policy_notices')
    .where({ policy_version_id: policyVersionId, member_id: memberId })
    .update(messageId ? { email_message_id: messageId } : { left_out_reason: 'not_deliverable' });
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
