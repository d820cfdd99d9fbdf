import type { DbOrTx } from '../db.js';

export interface PendingSignupRow {
  id: string;
  email: string;
  name: string;
  postal_address: string | null;
  phone: string | null;
  topic_ids: number[];
  policy_version_id: number;
  expires_at: Date;
}

/**
 * Adds a sign-up beside any earlier one for the same address: a stranger joining with someone
 * else's address must not cancel the link the owner already holds. The per-address join limit
 * bounds how many there can be; confirming one deletes the rest (takePendingSignup).
 */
export async function insertPendingSignup(
  db: DbOrTx,
  row: Omit<PendingSignupRow, 'id' | 'expires_at'> & { token_hash: string; expiresInHours: number },
): Promise<void> {
  const { expiresInHours, ...values } = row;
  await db('pending_signups').insert({
    ...values,
    age_confirmed: true,
    expires_at: db.raw('now() + make_interval(hours => ?)', [expiresInHours]),
  });
}

export async function findLivePendingSignup(db: DbOrTx, tokenHash: string): Promise<PendingSignupRow | undefined> {
  return (await db('pending_signups').where({ token_hash: tokenHash }).where('expires_at', '>', db.fn.now()).first()) as
    PendingSignupRow | undefined;
}

/**
 * Takes the sign-up out in the same statement that reads it, so a link confirms once, and with it
 * every other sign-up of the same address: their personal data goes, and their links then answer
 * like a used one. Two links of one address confirmed at once queue on the same rows, so only one
 * of them finds its sign-up.
 */
export async function takePendingSignup(db: DbOrTx, tokenHash: string): Promise<(PendingSignupRow & { linkHashes: string[] }) | undefined> {
  const live = db('pending_signups').select('email').where({ token_hash: tokenHash }).where('expires_at', '>', db.fn.now());
  const rows = (await db('pending_signups').whereIn('email', live).delete().returning('*')) as (PendingSignupRow & {
    token_hash: string;
  })[];
  const taken = rows.find((r) => r.token_hash === tokenHash);
  if (!taken) return undefined;
  const { token_hash: _hash, ...row } = taken;
  return { ...row, linkHashes: rows.map((r) => r.token_hash) };
}

/** How long a used confirmation link is still recognised (issue 13.10). */
export const USED_LINK_DAYS = 30;

/** Remembers the links of a confirmed sign-up (the one used and its siblings) and the member they lead to. */
export async function rememberUsedSignupLinks(db: DbOrTx, memberId: string, tokenHashes: string[]): Promise<void> {
  if (tokenHashes.length === 0) return;
  await db('used_signup_links')
    .insert(tokenHashes.map((token_hash) => ({ token_hash, member_id: memberId })))
    .onConflict('token_hash')
    .ignore();
}

/** The member a used confirmation link confirmed, and when, while it is remembered. */
export async function findUsedSignupLink(db: DbOrTx, tokenHash: string): Promise<{ member_id: string; confirmed_at: Date } | undefined> {
  return (await db('used_signup_links')
    .where({ token_hash: tokenHash })
    .where('confirmed_at', '>', db.raw('now() - make_interval(days => ?)', [USED_LINK_DAYS]))
    .first('member_id', 'confirmed_at')) as { member_id: string; confirmed_at: Date } | undefined;
}

export async function purgeUsedSignupLinks(db: DbOrTx): Promise<number> {
  return db('used_signup_links')
    .where('confirmed_at', '<=', db.raw('now() - make_interval(days => ?)', [USED_LINK_DAYS]))
    .delete();
}

/** C15: unconfirmed sign-ups are purged once they expire. */
export async function purgeExpiredSignups(db: DbOrTx): Promise<number> {
  return db('pending_signups').where('expires_at', '<=', db.fn.now()).delete();
}
