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
  /** The RFC 6238 time step of the last code accepted: a code is good once (C11). */
  totp_last_step: number | null;
  disabled_at: Date | null;
}

/** A staff account as the staff list shows it: no password hash, no TOTP secret. */
export interface StaffListRow {
  id: string;
  email: string;
  name: string;
  role: StaffRole;
  totp_enabled_at: Date | null;
  disabled_at: Date | null;
  created_at: Date;
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
  patch: Partial<Pick<StaffRow, 'password_hash' | 'totp_secret' | 'totp_enabled_at' | 'totp_last_step'>>,
): Promise<void> {
  await db('staff_users')
    .where({ id })
    .update({ ...patch, updated_at: db.fn.now() });
}

/**
 * Records the time step of an accepted TOTP code, only if it is later than the last one: two
 * requests racing with the same code cannot both win. False means the code was already used.
 */
export async function claimTotpStep(db: DbOrTx, id: string, step: number): Promise<boolean> {
  const updated = await db('staff_users')
    .where({ id })
    .whereNull('disabled_at')
    .where((q) => q.whereNull('totp_last_step').orWhere('totp_last_step', '<', step))
    .update({ totp_last_step: step, updated_at: db.fn.now() });
  return updated === 1;
}

export async function listStaffUsers(db: DbOrTx): Promise<StaffListRow[]> {
  return db('staff_users')
    .select('id', 'email', 'name', 'role', 'totp_enabled_at', 'disabled_at', 'created_at')
    .orderByRaw('disabled_at IS NOT NULL, lower(name), id') as unknown as Promise<StaffListRow[]>;
}

/** Disables an active account; false when there is none (unknown, or disabled already). */
export async function disableStaffUser(db: DbOrTx, id: string): Promise<boolean> {
  const updated = await db('staff_users')
    .where({ id })
    .whereNull('disabled_at')
    .update({ disabled_at: db.fn.now(), updated_at: db.fn.now() });
  return updated === 1;
}

export async function staffUserExists(db: DbOrTx, id: string): Promise<boolean> {
  return (await db('staff_users').where({ id }).first('id')) !== undefined;
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
