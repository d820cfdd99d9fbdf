import type { Knex } from 'knex';
import type { DbOrTx } from '../db.js';
import { isUuid } from '../shared/ids.js';

export type RemovalStatus = 'unconfirmed' | 'confirmed' | 'cancelled' | 'held' | 'completed';

/** A removal request: its status and dates, and the reason of a legal hold (staff only). */
export interface RemovalRequestRow {
  id: string;
  member_id: string;
  status: RemovalStatus;
  requested_at: Date;
  confirmed_at: Date | null;
  due_at: Date | null;
  cancelled_at: Date | null;
  completed_at: Date | null;
  hold_reason: string | null;
}

/** The statuses the partial unique index removal_requests_one_open_idx counts as open. */
const OPEN = `('unconfirmed', 'confirmed', 'held')`;
const REMOVAL_COLUMNS = [
  'id',
  'member_id',
  'status',
  'requested_at',
  'confirmed_at',
  'due_at',
  'cancelled_at',
  'completed_at',
  'hold_reason',
] as const;

/** Every removal request of a member, newest first (for the account page and the data export). */
export async function listRemovalRequests(db: DbOrTx, memberId: string): Promise<RemovalRequestRow[]> {
  return db<RemovalRequestRow>('removal_requests')
    .where({ member_id: memberId })
    .orderBy('requested_at', 'desc')
    .orderBy('id')
    .select(...REMOVAL_COLUMNS);
}

export async function findOpenRemovalRequest(db: DbOrTx, memberId: string): Promise<RemovalRequestRow | undefined> {
  return db<RemovalRequestRow>('removal_requests')
    .where({ member_id: memberId })
    .whereRaw(`status IN ${OPEN}`)
    .first(...REMOVAL_COLUMNS);
}

export async function findRemovalRequest(db: DbOrTx, id: string, memberId: string): Promise<RemovalRequestRow | undefined> {
  if (!isUuid(id)) return undefined;
  return db<RemovalRequestRow>('removal_requests')
    .where({ id, member_id: memberId })
    .first(...REMOVAL_COLUMNS);
}

/**
 * Opens an unconfirmed request, or returns the member's open one. The insert yields to the partial
 * unique index instead of failing on it, so two racing requests end with one row and no 500; the
 * follow-up read is a new statement, so it sees a row a concurrent transaction just committed.
 */
export async function openRemovalRequest(db: DbOrTx, memberId: string): Promise<RemovalRequestRow> {
  const { rows } = await db.raw<{ rows: RemovalRequestRow[] }>(
    `INSERT INTO removal_requests (member_id) VALUES (?)
     ON CONFLICT (member_id) WHERE status IN ${OPEN} DO NOTHING
     RETURNING ${REMOVAL_COLUMNS.join(', ')}`,
    [memberId],
  );
  const row = rows[0] ?? (await findOpenRemovalRequest(db, memberId));
  if (!row) throw new Error('removal request neither inserted nor found');
  return row;
}

/** Confirms an unconfirmed request; the due date is computed by the database from the same now() as confirmed_at. */
export async function confirmRemovalRequest(
  db: DbOrTx,
  id: string,
  memberId: string,
  graceDays: number,
): Promise<RemovalRequestRow | undefined> {
  const [row] = await db('removal_requests')
    .where({ id, member_id: memberId, status: 'unconfirmed' })
    .update({ status: 'confirmed', confirmed_at: db.fn.now(), due_at: db.raw('now() + make_interval(days => ?)', [graceDays]) })
    .returning([...REMOVAL_COLUMNS]);
  return row as RemovalRequestRow | undefined;
}

/** Cancels an unconfirmed or confirmed request; a held or completed one is staff's to decide. */
export async function cancelRemovalRequest(db: DbOrTx, id: string, memberId: string): Promise<RemovalRequestRow | undefined> {
  const [row] = await db('removal_requests')
    .where({ id, member_id: memberId })
    .whereIn('status', ['unconfirmed', 'confirmed'])
    .update({ status: 'cancelled', cancelled_at: db.fn.now() })
    .returning([...REMOVAL_COLUMNS]);
  return row as RemovalRequestRow | undefined;
}

/** Confirmed and held requests, the soonest due first. */
export async function listOpenQueue(db: DbOrTx): Promise<RemovalRequestRow[]> {
  return db<RemovalRequestRow>('removal_requests')
    .whereIn('status', ['confirmed', 'held'])
    .orderBy([{ column: 'due_at' }, { column: 'id' }])
    .select(...REMOVAL_COLUMNS);
}

export async function listRecentlyCompleted(db: DbOrTx, limit: number): Promise<RemovalRequestRow[]> {
  return db<RemovalRequestRow>('removal_requests')
    .where({ status: 'completed' })
    .orderBy([
      { column: 'completed_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(limit)
    .select(...REMOVAL_COLUMNS);
}

/** The request, locked until the transaction ends; a malformed id is simply not found. */
export async function findRequestById(db: DbOrTx, id: string): Promise<RemovalRequestRow | undefined> {
  if (!isUuid(id)) return undefined;
  return db<RemovalRequestRow>('removal_requests')
    .where({ id })
    .first(...REMOVAL_COLUMNS);
}

export async function lockRequest(trx: Knex.Transaction, id: string): Promise<RemovalRequestRow | undefined> {
  if (!isUuid(id)) return undefined;
  return trx<RemovalRequestRow>('removal_requests')
    .where({ id })
    .forUpdate()
    .first(...REMOVAL_COLUMNS);
}

/**
 * The next confirmed request whose due date has passed, locked; rows another worker holds are
 * skipped (SKIP LOCKED), so several workers share the queue. Held requests are never picked.
 */
export async function lockNextDueRequest(trx: Knex.Transaction, skip: readonly string[]): Promise<RemovalRequestRow | undefined> {
  const q = trx<RemovalRequestRow>('removal_requests')
    .where({ status: 'confirmed' })
    .where('due_at', '<=', trx.fn.now())
    .orderBy([{ column: 'due_at' }, { column: 'id' }])
    .forUpdate()
    .skipLocked()
    .first(...REMOVAL_COLUMNS);
  if (skip.length) q.whereNotIn('id', skip);
  return q;
}

export async function holdRequest(db: DbOrTx, id: string, reason: string): Promise<void> {
  await db('removal_requests').where({ id, status: 'confirmed' }).update({ status: 'held', hold_reason: reason });
}

/** Back to confirmed with its due date kept; the hold reason stays on record. */
export async function releaseRequest(db: DbOrTx, id: string): Promise<void> {
  await db('removal_requests').where({ id, status: 'held' }).update({ status: 'confirmed' });
}

export async function completeRequest(db: DbOrTx, id: string): Promise<void> {
  await db('removal_requests').where({ id }).update({ status: 'completed', completed_at: db.fn.now() });
}
