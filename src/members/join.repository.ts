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

export async function replacePendingSignup(
  db: DbOrTx,
  row: Omit<PendingSignupRow, 'id' | 'expires_at'> & { token_hash: string; expiresInHours: number },
): Promise<void> {
  const { expiresInHours, ...values } = row;
  await db('pending_signups').where({ email: row.email }).delete();
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

/** Takes the sign-up out in the same statement that reads it, so a link confirms once. */
export async function takePendingSignup(db: DbOrTx, tokenHash: string): Promise<PendingSignupRow | undefined> {
  const [row] = await db('pending_signups').where({ token_hash: tokenHash }).where('expires_at', '>', db.fn.now()).delete().returning('*');
  return row as PendingSignupRow | undefined;
}

/** C15: unconfirmed sign-ups are purged once they expire. */
export async function purgeExpiredSignups(db: DbOrTx): Promise<number> {
  return db('pending_signups').where('expires_at', '<=', db.fn.now()).delete();
}
