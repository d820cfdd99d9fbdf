import type { Knex } from 'knex';
import type { DbOrTx } from '../db.js';
import { isUniqueViolation } from '../shared/errors.js';
import type { TokenPurpose } from '../identity/member-tokens.js';
import { updateMember } from '../identity/members.repository.js';

const EMAIL_UNIQUE = 'members_email_key';

/**
 * Marks a member's unused links as used: of one purpose (a newer request replaces the older ones),
 * or of every purpose (the address they were sent to is no longer the member's).
 */
export async function revokeMemberTokens(db: DbOrTx, memberId: string, purpose?: TokenPurpose): Promise<void> {
  await db('member_tokens')
    .where({ member_id: memberId, ...(purpose ? { purpose } : {}) })
    .whereNull('used_at')
    .update({ used_at: db.fn.now() });
}

/**
 * Sets a member's address. Another transaction may take the same address between our check and
 * this write; the unique index then refuses it, and we answer false instead of failing the whole
 * transaction (the write runs in a savepoint, so the caller's transaction stays usable).
 */
export async function setMemberEmail(trx: Knex.Transaction, id: string, email: string): Promise<boolean> {
  try {
    await trx.transaction((sp) => updateMember(sp, id, { email }));
    return true;
  } catch (err) {
    if (isUniqueViolation(err, EMAIL_UNIQUE)) return false;
    throw err;
  }
}

/** Manage links are signed, not stored: from this second on, only ones issued later are accepted. */
export async function voidEarlierManageLinks(db: DbOrTx, memberId: string): Promise<void> {
  await db('members')
    .where({ id: memberId })
    .update({ links_valid_from: db.raw("date_trunc('second', now())") });
}
