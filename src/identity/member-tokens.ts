import type { DbOrTx } from '../db.js';
import { hashToken, isWellFormedSecret, newSecretToken } from '../shared/secrets.js';

export type TokenPurpose = 'signin' | 'data' | 'removal' | 'email_verify';

/** Issues a single-use link token for a member; only its hash is stored. */
export async function issueMemberToken(
  db: DbOrTx,
  memberId: string,
  purpose: TokenPurpose,
  minutes: number,
  data: Record<string, unknown> = {},
): Promise<string> {
  const token = newSecretToken();
  await db('member_tokens').insert({
    member_id: memberId,
    purpose,
    token_hash: hashToken(token),
    data: JSON.stringify(data),
    expires_at: db.raw(`now() + make_interval(mins => ?)`, [minutes]),
  });
  return token;
}

export interface LiveToken {
  memberId: string;
  data: Record<string, unknown>;
}

/** Whether a link is still usable, without using it: GET pages show a button, never act (mail scanners follow links). */
export async function peekMemberToken(db: DbOrTx, token: unknown, purpose: TokenPurpose): Promise<LiveToken | null> {
  if (!isWellFormedSecret(token)) return null;
  const row = await db('member_tokens as t')
    .join('members as m', 'm.id', 't.member_id')
    .where({ 't.token_hash': hashToken(token), 't.purpose': purpose, 'm.status': 'active' })
    .whereNull('t.used_at')
    .where('t.expires_at', '>', db.fn.now())
    .first('t.member_id', 't.data');
  return row ? { memberId: row.member_id as string, data: row.data as Record<string, unknown> } : null;
}

/** Uses a link once: a single UPDATE, so two clicks racing cannot both succeed. */
export async function consumeMemberToken(db: DbOrTx, token: unknown, purpose: TokenPurpose): Promise<LiveToken | null> {
  if (!isWellFormedSecret(token)) return null;
  const [row] = await db('member_tokens')
    .where({ token_hash: hashToken(token), purpose })
    .whereNull('used_at')
    .where('expires_at', '>', db.fn.now())
    .whereExists((q) =>
      q.select(db.raw('1')).from('members').whereRaw('members.id = member_tokens.member_id').where('members.status', 'active'),
    )
    .update({ used_at: db.fn.now() })
    .returning(['member_id', 'data']);
  return row ? { memberId: row.member_id as string, data: row.data as Record<string, unknown> } : null;
}

export async function pruneMemberTokens(db: DbOrTx): Promise<void> {
  await db('member_tokens').where('expires_at', '<', db.raw("now() - interval '1 day'")).delete();
}
