import type { DbOrTx } from '../db.js';

/**
 * The audit log (C11): who among staff viewed or changed what, append-only (the database refuses
 * UPDATE, DELETE and TRUNCATE). Any feature may write to it, inside its own transaction, so an
 * action and its entry commit together. Entries hold ids and figures, never personal data.
 */
export interface AuditRow {
  id: number;
  staff_user_id: string | null;
  staff_name: string | null;
  action: string;
  member_id: string | null;
  details: Record<string, unknown>;
  created_at: Date;
}

export async function appendAudit(
  db: DbOrTx,
  entry: { staffUserId: string | null; action: string; memberId?: string | null; details?: Record<string, unknown> },
): Promise<void> {
  await db('audit_log').insert({
    staff_user_id: entry.staffUserId,
    action: entry.action,
    member_id: entry.memberId ?? null,
    details: JSON.stringify(entry.details ?? {}),
  });
}

export interface AuditFilter {
  action?: string;
  staffUserId?: string;
  memberId?: string;
  /** Entries at or after this time. */
  from?: Date;
  /** Entries before this time. */
  before?: Date;
}

/** One page of the audit log, newest first; one row more than asked tells whether there is a next page. */
export async function listAudit(db: DbOrTx, q: AuditFilter & { limit: number; offset: number }): Promise<AuditRow[]> {
  const query = db('audit_log as a')
    .leftJoin('staff_users as s', 's.id', 'a.staff_user_id')
    .select('a.id', 'a.staff_user_id', 's.name as staff_name', 'a.action', 'a.member_id', 'a.details', 'a.created_at')
    .orderBy([
      { column: 'a.created_at', order: 'desc' },
      { column: 'a.id', order: 'desc' },
    ])
    .limit(q.limit)
    .offset(q.offset);
  if (q.action) query.where('a.action', q.action);
  if (q.staffUserId) query.where('a.staff_user_id', q.staffUserId);
  if (q.memberId) query.where('a.member_id', q.memberId);
  if (q.from) query.where('a.created_at', '>=', q.from);
  if (q.before) query.where('a.created_at', '<', q.before);
  return query as unknown as Promise<AuditRow[]>;
}

export async function listAuditActions(db: DbOrTx): Promise<string[]> {
  const rows = await db('audit_log').distinct('action').orderBy('action');
  return (rows as { action: string }[]).map((r) => r.action);
}

/** The staff users the audit log can be filtered by: every account, disabled ones too (their entries stay). */
export async function listAuditStaff(db: DbOrTx): Promise<{ id: string; name: string; role: string }[]> {
  return db('staff_users').orderByRaw('lower(name), id').select('id', 'name', 'role');
}
