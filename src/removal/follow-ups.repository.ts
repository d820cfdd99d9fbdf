import type { Knex } from 'knex';
import type { DbOrTx } from '../db.js';
import { isUuid } from '../shared/ids.js';

/**
 * Partner follow-ups (C6): after an erasure, one per partner that ever received the member's data,
 * open until staff mark it done.
 */
/** One follow-up per partner that ever received the member's data through a recorded disclosure. */
export async function openFollowUps(db: DbOrTx, requestId: string, memberId: string): Promise<{ partner_name: string }[]> {
  const { rows } = await db.raw<{ rows: { partner_name: string }[] }>(
    `WITH opened AS (
       INSERT INTO partner_follow_ups (removal_request_id, partner_id)
       SELECT DISTINCT ?::uuid, d.partner_id
       FROM disclosure_members dm JOIN disclosures d ON d.id = dm.disclosure_id
       WHERE dm.member_id = ?
       ON CONFLICT ON CONSTRAINT partner_follow_ups_once DO NOTHING
       RETURNING partner_id
     )
     SELECT p.name AS partner_name FROM opened o JOIN partners p ON p.id = o.partner_id ORDER BY p.name`,
    [requestId, memberId],
  );
  return rows;
}

/** How many partners received the member's data: the follow-ups an erasure would open. */
export async function countPartnersReached(db: DbOrTx, memberId: string): Promise<number> {
  const { rows } = await db.raw<{ rows: { n: number }[] }>(
    `SELECT count(DISTINCT d.partner_id)::int AS n
       FROM disclosure_members dm JOIN disclosures d ON d.id = dm.disclosure_id
      WHERE dm.member_id = ?`,
    [memberId],
  );
  return rows[0]?.n ?? 0;
}

export interface FollowUpRow {
  id: string;
  removal_request_id: string;
  partner_name: string;
  created_at: Date;
  done_at: Date | null;
  done_by_name: string | null;
}

function followUps(db: DbOrTx) {
  return db('partner_follow_ups as f')
    .join('partners as p', 'p.id', 'f.partner_id')
    .leftJoin('staff_users as s', 's.id', 'f.done_by')
    .select('f.id', 'f.removal_request_id', 'p.name as partner_name', 'f.created_at', 'f.done_at', 's.name as done_by_name');
}

export async function listOpenFollowUps(db: DbOrTx): Promise<FollowUpRow[]> {
  return followUps(db)
    .whereNull('f.done_at')
    .orderBy([{ column: 'f.created_at' }, { column: 'f.id' }]) as Promise<FollowUpRow[]>;
}

export async function listDoneFollowUps(db: DbOrTx, limit: number): Promise<FollowUpRow[]> {
  return followUps(db)
    .whereNotNull('f.done_at')
    .orderBy([
      { column: 'f.done_at', order: 'desc' },
      { column: 'f.id', order: 'desc' },
    ])
    .limit(limit) as Promise<FollowUpRow[]>;
}

export async function findFollowUpForUpdate(
  trx: Knex.Transaction,
  id: string,
): Promise<{ id: string; removal_request_id: string; partner_id: number; done_at: Date | null } | undefined> {
  if (!isUuid(id)) return undefined;
  return trx('partner_follow_ups').where({ id }).forUpdate().first('id', 'removal_request_id', 'partner_id', 'done_at');
}

export async function markFollowUpDone(db: DbOrTx, id: string, staffUserId: string): Promise<void> {
  await db('partner_follow_ups').where({ id }).whereNull('done_at').update({ done_at: db.fn.now(), done_by: staffUserId });
}
