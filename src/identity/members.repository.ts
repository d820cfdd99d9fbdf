import type { Knex } from 'knex';
import type { DbOrTx } from '../db.js';
import { isUuid } from '../shared/ids.js';

export interface MemberRow {
  id: string;
  email: string | null;
  name: string | null;
  postal_address: string | null;
  phone: string | null;
  status: 'pending' | 'active' | 'erased';
  password_hash: string | null;
  /** Set when a final 5xx refusal showed the address cannot receive mail (C12). */
  email_undeliverable_at: Date | null;
  /** Manage links issued before this second no longer work (set when the e-mail address changes). */
  links_valid_from: Date | null;
  confirmed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * MemberRow's columns, for statements that are prepared once per connection: a prepared
 * `SELECT *` fails ("cached plan must not change result type") once a migration adds a column
 * while the app runs, so those name their columns.
 */
export const MEMBER_COLUMNS = [
  'id',
  'email',
  'name',
  'postal_address',
  'phone',
  'status',
  'password_hash',
  'email_undeliverable_at',
  'links_valid_from',
  'confirmed_at',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof MemberRow)[];

export interface MemberDetails {
  name: string;
  postal_address: string | null;
  phone: string | null;
}

export async function findActiveMemberByEmail(db: DbOrTx, email: string): Promise<MemberRow | undefined> {
  return db<MemberRow>('members').where({ email, status: 'active' }).first();
}

export async function findActiveMember(db: DbOrTx, id: string): Promise<MemberRow | undefined> {
  if (!isUuid(id)) return undefined;
  return db<MemberRow>('members').where({ id, status: 'active' }).first();
}

export async function emailInUse(db: DbOrTx, email: string): Promise<boolean> {
  return (await db('members').where({ email }).first('id')) !== undefined;
}

export async function insertActiveMember(db: DbOrTx, m: MemberDetails & { email: string }): Promise<string> {
  const [row] = await db('members')
    .insert({ ...m, status: 'active', confirmed_at: db.fn.now() })
    .returning('id');
  return (row as { id: string }).id;
}

export async function updateMember(
  db: DbOrTx,
  id: string,
  patch: Partial<MemberDetails & { email: string; password_hash: string | null }>,
): Promise<void> {
  await db('members')
    .where({ id })
    .update({ ...patch, updated_at: db.fn.now() });
}

/**
 * The member's row, locked until the transaction ends: concurrent changes to one member are applied
 * one after the other, so each computes from what was really there (and each confirmation e-mail
 * states the change against it). activeOnly: a pending or erased member is as good as absent.
 */
export async function lockMember(trx: Knex.Transaction, id: string, opts: { activeOnly?: boolean } = {}): Promise<MemberRow | undefined> {
  if (!isUuid(id)) return undefined;
  const query = trx<MemberRow>('members').where({ id }).forUpdate();
  if (opts.activeOnly) query.where({ status: 'active' });
  // Named: each connection plans it once (it runs on every change of choices).
  return query.first(...MEMBER_COLUMNS).options({ name: opts.activeOnly ? 'lock_active_member' : 'lock_member' });
}

/** A newly verified address has not bounced (C12): the undeliverable mark belonged to the old one. */
export async function clearUndeliverable(db: DbOrTx, memberId: string): Promise<void> {
  await db('members').where({ id: memberId }).whereNotNull('email_undeliverable_at').update({ email_undeliverable_at: null });
}
