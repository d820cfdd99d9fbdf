import { createHmac, randomInt } from 'node:crypto';
import type { DbOrTx } from '../db.js';
import { purposeKeys } from '../shared/keys.js';

/**
 * Staff recovery codes (C11): ten single-use codes, shown once at enrolment, each 16 characters
 * of Crockford's base32 (80 random bits), written in four groups. Only an HMAC under the
 * recovery-codes purpose key is stored: 80 bits cannot be guessed offline, and without the key a
 * leaked table cannot even be tried.
 */
export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const LENGTH = 16;

export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => {
    const chars = Array.from({ length: LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    return chars.match(/.{4}/g)!.join('-');
  });
}

/** The code as typed, or undefined when it cannot be one: case, spaces and dashes do not matter; I, L, O read as 1, 1, 0. */
export function normaliseRecoveryCode(input: string): string | undefined {
  const plain = input.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
  return plain.length === LENGTH && [...plain].every((c) => ALPHABET.includes(c)) ? plain : undefined;
}

function codeHashes(code: string, masterKeys: readonly string[]): string[] {
  const plain = normaliseRecoveryCode(code);
  if (!plain) return [];
  return purposeKeys(masterKeys, 'recovery-codes').map((k) => createHmac('sha256', k).update(plain).digest('hex'));
}

/** Replaces a staff user's codes with a new set; returns the codes to show, once. */
export async function replaceRecoveryCodes(db: DbOrTx, staffId: string, masterKeys: readonly string[]): Promise<string[]> {
  const codes = newRecoveryCodes();
  await deleteRecoveryCodes(db, staffId);
  await db('staff_recovery_codes').insert(codes.map((c) => ({ staff_user_id: staffId, code_hash: codeHashes(c, masterKeys)[0] })));
  return codes;
}

export async function deleteRecoveryCodes(db: DbOrTx, staffId: string): Promise<void> {
  await db('staff_recovery_codes').where({ staff_user_id: staffId }).delete();
}

/** Uses a code once: one UPDATE, so the same code racing twice cannot sign in twice. */
export async function useRecoveryCode(db: DbOrTx, staffId: string, code: string, masterKeys: readonly string[]): Promise<boolean> {
  const hashes = codeHashes(code, masterKeys);
  if (hashes.length === 0) return false;
  const used = await db('staff_recovery_codes')
    .where({ staff_user_id: staffId })
    .whereIn('code_hash', hashes)
    .whereNull('used_at')
    .update({ used_at: db.fn.now() });
  return used === 1;
}

export async function unusedRecoveryCodes(db: DbOrTx, staffId: string): Promise<number> {
  const [row] = await db('staff_recovery_codes').where({ staff_user_id: staffId }).whereNull('used_at').count({ n: '*' });
  return Number((row as { n: number }).n);
}
