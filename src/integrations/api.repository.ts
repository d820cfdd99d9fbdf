import type { DbOrTx } from '../db.js';
import { ledgerOf, type ConsentStatus } from '../consent/consent.repository.js';

export interface ApiLedgerRow {
  id: number;
  topic_id: number;
  topic_name: string;
  from_status: ConsentStatus | null;
  to_status: ConsentStatus;
  source: string;
  channel: string;
  api_key: string | null;
  policy_version: string;
  created_at: Date;
}

/** A member's ledger, oldest first, after the event id given (keyset pagination). */
export async function ledgerAfter(db: DbOrTx, memberId: string, afterId: number, limit: number): Promise<ApiLedgerRow[]> {
  return ledgerOf(db, memberId)
    .where('e.id', '>', afterId)
    .orderBy('e.id')
    .limit(limit)
    .select(
      'e.id',
      'e.topic_id',
      't.name as topic_name',
      'e.from_status',
      'e.to_status',
      'e.source',
      'e.channel',
      'ak.name as api_key',
      'p.version as policy_version',
      'e.created_at',
    ) as unknown as Promise<ApiLedgerRow[]>;
}

export interface ChangeRow {
  id: number;
  /** The writing transaction's id (xid8), as text: it can exceed 2^53. */
  tx: string;
  kind: 'consent' | 'member.confirmed' | 'member.details_changed' | 'member.erased';
  member_id: string;
  created_at: Date;
  topic_id: number | null;
  from_status: ConsentStatus | null;
  to_status: ConsentStatus | null;
  source: string | null;
}

/**
 * The changes after a position (tx, id), in that order, from transactions of this database older
 * than every one of its transactions still running: those are committed and visible, and anything
 * committed later sorts after them (see the migration that creates api_changes). Transactions of
 * other databases on the same server never write here, nor does autovacuum (its ANALYZE takes a
 * transaction id to write statistics): they are left out of the bound, so a long one elsewhere, or
 * an analyze of a busy table, does not hold the feed back. A transaction the snapshot saw running
 * that has ended since counts as running, for this read only. So a change reaches the feed once
 * every older transaction of this database has ended: a poller may see it a moment after its commit,
 * but never skips it.
 */
export async function changesAfter(db: DbOrTx, after: { tx: string; id: number }, limit: number): Promise<ChangeRow[]> {
  const { rows } = await db.raw<{ rows: ChangeRow[] }>(
    `WITH snap AS (SELECT pg_current_snapshot() AS s),
     elsewhere AS (
       SELECT l.transactionid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock'
         AND (a.datid IS DISTINCT FROM (SELECT oid FROM pg_database WHERE datname = current_database())
              OR a.backend_type = 'autovacuum worker')
     ),
     bound AS (
       SELECT coalesce(min(x), pg_snapshot_xmax((SELECT s FROM snap))) AS safe
       FROM pg_snapshot_xip((SELECT s FROM snap)) AS x
       WHERE NOT EXISTS (SELECT 1 FROM elsewhere e WHERE e.transactionid = x::xid)
     )
     SELECT c.id, c.tx::text AS tx, c.kind, c.member_id, c.created_at,
            e.topic_id, e.from_status, e.to_status, e.source
     FROM api_changes c LEFT JOIN consent_ledger e ON e.id = c.ledger_id
     WHERE (c.tx, c.id) > (?::xid8, ?::bigint) AND c.tx < (SELECT safe FROM bound)
     ORDER BY c.tx, c.id
     LIMIT ?`,
    [after.tx, after.id, limit],
  );
  return rows;
}
