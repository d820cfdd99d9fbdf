import type { DbOrTx } from '../db.js';

export const STAFF_ROLES = ['admin', 'support', 'auditor'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export interface StaffRow {
  id: string;
  email: string;
  name: string;
  role: StaffRole;
  password_hash: string;
  totp_secret: string | null;
  totp_enabled_at: Date | null;
  disabled_at: Date | null;
}

export interface AuditRow {
  id: number;
  staff_user_id: string | null;
  staff_name: string | null;
  action: string;
  member_id: string | null;
  details: Record<string, unknown>;
  created_at: Date;
}

export async function insertStaffUser(
  db: DbOrTx,
  v: { email: string; name: string; role: StaffRole; passwordHash: string },
): Promise<string> {
  const [row] = await db('staff_users')
    .insert({ email: v.email, name: v.name, role: v.role, password_hash: v.passwordHash })
    .returning('id');
  return (row as { id: string }).id;
}

export async function findActiveStaffUser(db: DbOrTx, id: string): Promise<StaffRow | undefined> {
  return db('staff_users').where({ id }).whereNull('disabled_at').first<StaffRow | undefined>();
}

export async function findActiveStaffUserByEmail(db: DbOrTx, email: string): Promise<StaffRow | undefined> {
  return db('staff_users').where({ email }).whereNull('disabled_at').first<StaffRow | undefined>();
}

export async function updateStaffUser(
  db: DbOrTx,
  id: string,
  patch: Partial<Pick<StaffRow, 'password_hash' | 'totp_secret' | 'totp_enabled_at'>>,
): Promise<void> {
  await db('staff_users')
    .where({ id })
    .update({ ...patch, updated_at: db.fn.now() });
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

/** One page of the audit log, newest first; one row more than asked tells whether there is a next page. */
export async function listAudit(db: DbOrTx, q: { action?: string; limit: number; offset: number }): Promise<AuditRow[]> {
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
  return query as unknown as Promise<AuditRow[]>;
}

export async function listAuditActions(db: DbOrTx): Promise<string[]> {
  const rows = await db('audit_log').distinct('action').orderBy('action');
  return (rows as { action: string }[]).map((r) => r.action);
}
