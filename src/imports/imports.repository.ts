import type { Knex } from 'knex';
import type { DbOrTx } from '../db.js';
import type { CheckCounts } from './check.repository.js';
import type { ImportFormat, Mapping } from './formats.js';

export type ImportStatus = 'mapping' | 'checked' | 'applying' | 'applied' | 'cancelled' | 'failed' | 'undoing' | 'undone';
export type ImportMode = 'evidence' | 'ask';

export interface ImportRow {
  id: number;
  staff_user_id: string;
  staff_name?: string;
  file_name: string;
  format: ImportFormat;
  headers: string[];
  mapping: Mapping | null;
  status: ImportStatus;
  mode: ImportMode | null;
  evidence_where: string | null;
  evidence_collected_on: string | null;
  evidence_reference: string | null;
  policy_version_id: number | null;
  rows_total: number;
  counts: Partial<CheckCounts>;
  rows_done: number;
  applied_upto: number;
  members_created: number;
  invitations_created: number;
  undo_counts: { removed: number; kept: number; invitationsWithdrawn: number } | null;
  error: string | null;
  created_at: Date;
  checked_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  cancelled_at: Date | null;
  undone_at: Date | null;
}

/** How long an import can be undone after it ends (the ledger trigger holds the same 7 days). */
export const UNDO_DAYS = 7;

export async function insertImport(
  db: DbOrTx,
  row: { staff_user_id: string; file_name: string; format: ImportFormat; headers: string[] },
): Promise<number> {
  const [r] = (await db('imports').insert(row).returning('id')) as { id: number }[];
  return r!.id;
}

export async function findImport(db: DbOrTx, id: number, lock?: 'update' | 'share'): Promise<ImportRow | undefined> {
  const q = db('imports as i')
    .leftJoin('staff_users as s', 's.id', 'i.staff_user_id')
    .where('i.id', id)
    .first('i.*', 's.name as staff_name');
  if (lock === 'update') void q.forUpdate('i');
  if (lock === 'share') void q.forShare('i');
  return (await q) as ImportRow | undefined;
}

export async function listImports(db: DbOrTx, limit = 50): Promise<ImportRow[]> {
  return (await db('imports as i')
    .leftJoin('staff_users as s', 's.id', 'i.staff_user_id')
    .orderBy('i.id', 'desc')
    .limit(limit)
    .select('i.*', 's.name as staff_name')) as ImportRow[];
}

export async function updateImport(db: DbOrTx, id: number, patch: Record<string, unknown>): Promise<void> {
  await db('imports').where({ id }).update(patch);
}

/** The staged rows are the uploaded file's content: gone once the import has finished or stopped. */
export async function dropStagedRows(db: DbOrTx, importId: number): Promise<void> {
  await db('import_rows').where({ import_id: importId }).delete();
}

export async function stagedRowCount(db: DbOrTx, importId: number): Promise<number> {
  const r = (await db('import_rows').where({ import_id: importId }).count<{ n: number }[]>('* as n'))[0];
  return Number(r?.n ?? 0);
}

/** The first rows as read, for the mapping screen's examples. */
export async function sampleRows(db: DbOrTx, importId: number, n = 3): Promise<string[][]> {
  const rows = (await db('import_rows').where({ import_id: importId }).orderBy('row_no').limit(n).select('fields')) as {
    fields: string[];
  }[];
  return rows.map((r) => r.fields);
}

/** The next batch of new rows: its last row number and size (none left: undefined). */
async function nextBatch(
  trx: Knex.Transaction,
  importId: number,
  after: number,
  size: number,
): Promise<{ upto: number; n: number } | undefined> {
  const { rows } = await trx.raw<{ rows: { upto: number | null; n: number }[] }>(
    `SELECT max(row_no) AS upto, count(*)::int AS n FROM (
       SELECT row_no FROM import_rows WHERE import_id = ? AND outcome = 'new' AND row_no > ? ORDER BY row_no LIMIT ?
     ) b`,
    [importId, after, size],
  );
  const r = rows[0];
  return r && r.upto !== null ? { upto: r.upto, n: r.n } : undefined;
}

export interface BatchResult {
  upto: number;
  handled: number;
  created: number;
}

/**
 * Evidence mode, one batch, set-based: the new rows become active members carrying the import's
 * id (an address that joined since the check is skipped: members are never overwritten), their
 * opt-ins become ledger events (source import, the evidence reference, the file's date) and the
 * consents that point at them. The ledger's C1 trigger refuses any opt-in to a third-party offer
 * or partner sharing, whatever the mapping said.
 */
export async function applyEvidenceBatch(
  trx: Knex.Transaction,
  imp: Pick<ImportRow, 'id' | 'evidence_reference' | 'policy_version_id'>,
  after: number,
  size: number,
): Promise<BatchResult | undefined> {
  const batch = await nextBatch(trx, imp.id, after, size);
  if (!batch) return undefined;
  const inBatch = `r.import_id = :id AND r.outcome = 'new' AND r.row_no > :after AND r.row_no <= :upto`;
  const p = { id: imp.id, after, upto: batch.upto, policy: imp.policy_version_id, ref: imp.evidence_reference };
  const created = await trx.raw<{ rowCount: number }>(
    `INSERT INTO members (email, name, postal_address, phone, status, confirmed_at, import_id)
     SELECT r.email, r.name, r.postal_address, r.phone, 'active', now(), :id FROM import_rows r WHERE ${inBatch} ORDER BY r.row_no
     ON CONFLICT (email) DO NOTHING`,
    p,
  );
  const before = await trx.raw<{ rows: { max: number | null }[] }>(`SELECT max(id) AS max FROM consent_ledger WHERE import_id = ?`, [
    imp.id,
  ]);
  await trx.raw(
    `INSERT INTO consent_ledger (member_id, topic_id, from_status, to_status, source, channel, policy_version_id, request_reference, import_id, consented_at)
     SELECT m.id, f.topic_id, NULL, 'opted_in', 'import', 'system', :policy, :ref, :id, r.consented_at
     FROM import_rows r JOIN members m ON m.email = r.email AND m.import_id = :id
     CROSS JOIN LATERAL unnest(r.opt_in) AS f(topic_id)
     WHERE ${inBatch} AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.member_id = m.id)
     ORDER BY r.row_no, f.topic_id`,
    p,
  );
  await trx.raw(
    `INSERT INTO consents (member_id, topic_id, status, policy_version_id, last_event_id)
     SELECT member_id, topic_id, 'opted_in', policy_version_id, id FROM consent_ledger WHERE import_id = :id AND id > :before`,
    { id: imp.id, before: before.rows[0]?.max ?? 0 },
  );
  return { upto: batch.upto, handled: batch.n, created: created.rowCount };
}

/**
 * "Ask them" mode, one batch: each new address gets an invitation (no member, no consent, C15),
 * unless it became a member since the check or already holds a live invitation.
 */
export async function inviteBatch(trx: Knex.Transaction, importId: number, after: number, size: number): Promise<BatchResult | undefined> {
  const batch = await nextBatch(trx, importId, after, size);
  if (!batch) return undefined;
  const created = await trx.raw<{ rowCount: number }>(
    `INSERT INTO import_invitations (import_id, email, name, postal_address, phone)
     SELECT :id, r.email, r.name, r.postal_address, r.phone FROM import_rows r
     WHERE r.import_id = :id AND r.outcome = 'new' AND r.row_no > :after AND r.row_no <= :upto
       AND NOT EXISTS (SELECT 1 FROM members m WHERE m.email = r.email)
       AND NOT EXISTS (SELECT 1 FROM import_invitations i WHERE i.email = r.email AND (i.expires_at IS NULL OR i.expires_at > now()))
     ORDER BY r.row_no
     ON CONFLICT DO NOTHING`,
    { id: importId, after, upto: batch.upto },
  );
  return { upto: batch.upto, handled: batch.n, created: created.rowCount };
}

/**
 * Members of this import that nobody has touched since: no ledger event but the import's own, no
 * change of details, and nothing recorded about them elsewhere (mail, links, removal requests,
 * disclosures, staff notes, notices, bulletins, and the append-only audit log, which names a
 * member whose record staff opened). Only these are removed by an undo.
 */
const UNTOUCHED = `
  m.import_id = :id AND m.status = 'active' AND m.updated_at = m.created_at
  AND NOT EXISTS (SELECT 1 FROM consent_ledger e WHERE e.member_id = m.id AND e.import_id IS DISTINCT FROM :id)
  AND NOT EXISTS (SELECT 1 FROM email_messages x WHERE x.member_id = m.id)
  AND NOT EXISTS (SELECT 1 FROM member_tokens x WHERE x.member_id = m.id)
  AND NOT EXISTS (SELECT 1 FROM removal_requests x WHERE x.member_id = m.id)
  AND NOT EXISTS (SELECT 1 FROM disclosure_members x WHERE x.member_id = m.id)
  AND NOT EXISTS (SELECT 1 FROM staff_change_notes x WHERE x.member_id = m.id)
  AND NOT EXISTS (SELECT 1 FROM policy_notices x WHERE x.member_id = m.id)
  AND NOT EXISTS (SELECT 1 FROM bulletin_recipients x WHERE x.member_id = m.id)
  AND NOT EXISTS (SELECT 1 FROM audit_log x WHERE x.member_id = m.id)`;

/**
 * Undoes an import in the caller's transaction, with the import in status `undoing` (the only
 * state in which the ledger lets its events go): untouched members go with their consents and the
 * import's ledger events; unanswered invitations go and their unsent mail is withdrawn.
 */
export async function undoImportRows(
  trx: Knex.Transaction,
  importId: number,
): Promise<{ removed: number; kept: number; invitationsWithdrawn: number }> {
  // CREATE TABLE AS takes no bound parameters: the id is a checked integer.
  if (!Number.isInteger(importId)) throw new Error('bad import id');
  await trx.raw(
    `CREATE TEMP TABLE undo_members ON COMMIT DROP AS SELECT m.id FROM members m WHERE ${UNTOUCHED.replaceAll(':id', String(importId))}`,
  );
  await trx.raw(`DELETE FROM consents WHERE member_id IN (SELECT id FROM undo_members)`);
  await trx.raw(`DELETE FROM consent_ledger WHERE import_id = ? AND member_id IN (SELECT id FROM undo_members)`, [importId]);
  const removed = await trx.raw<{ rowCount: number }>(`DELETE FROM members WHERE id IN (SELECT id FROM undo_members)`);
  const kept = await trx('members').where({ import_id: importId }).count<{ n: number }[]>('* as n');
  await trx.raw(
    `UPDATE email_messages SET status = 'cancelled', cancel_reason = 'withdrawn', last_error = 'import undone', updated_at = now()
     WHERE status = 'queued' AND id IN (SELECT email_message_id FROM import_invitations WHERE import_id = ? AND email_message_id IS NOT NULL)`,
    [importId],
  );
  const withdrawn = await trx('import_invitations').where({ import_id: importId }).delete();
  return { removed: removed.rowCount, kept: Number(kept[0]?.n ?? 0), invitationsWithdrawn: withdrawn };
}

export interface ImportedMemberRow {
  id: string;
  email: string | null;
  name: string | null;
  created_at: Date;
}

/** The members an import created, a page at a time. */
export async function importedMembers(db: DbOrTx, importId: number, limit: number, offset: number): Promise<ImportedMemberRow[]> {
  return (await db('members')
    .where({ import_id: importId })
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .offset(offset)
    .select('id', 'email', 'name', 'created_at')) as ImportedMemberRow[];
}

/** Invitations of an import: still to mail, mailed and unanswered; a confirmed one is deleted (its member carries the import's id). */
export async function invitationCounts(db: DbOrTx, importId: number): Promise<{ unmailed: number; waiting: number }> {
  const { rows } = await db.raw<{ rows: { unmailed: number; waiting: number }[] }>(
    `SELECT count(*) FILTER (WHERE mailed_at IS NULL)::int AS unmailed, count(*) FILTER (WHERE mailed_at IS NOT NULL)::int AS waiting
     FROM import_invitations WHERE import_id = ?`,
    [importId],
  );
  return rows[0] ?? { unmailed: 0, waiting: 0 };
}
