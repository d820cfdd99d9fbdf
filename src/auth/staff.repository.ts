import type { DbOrTx } from '../db.js';

export const STAFF_ROLES = ['admin', 'support', 'auditor', 'editor'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/** The roles as people say them, for every screen and e-mail. */
export const ROLE_NAMES: Record<StaffRole, string> = { admin: 'Administrator', support: 'Support', editor: 'Editor', auditor: 'Auditor' };

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
