import { createHmac } from 'node:crypto';
import type { DbOrTx } from '../db.js';

/**
 * The suppression list (C6) keeps HMAC-SHA256(secret key, normalised address). Every key in
 * SECRET_KEYS is tried on lookup, so rotating keys (new key first) keeps old entries effective;
 * new entries are written with the first key.
 */
export function normaliseAddress(email: string): string {
  return email.trim().toLowerCase();
}

export function addressHash(email: string, key: string): string {
  return createHmac('sha256', key).update(normaliseAddress(email)).digest('hex');
}

export function addressHashes(email: string, keys: readonly string[]): string[] {
  return keys.map((k) => addressHash(email, k));
}

export async function isSuppressed(db: DbOrTx, email: string, keys: readonly string[]): Promise<boolean> {
  const row = await db('suppression_list').whereIn('address_hash', addressHashes(email, keys)).first('address_hash');
  return row !== undefined;
}

export async function suppressAddress(db: DbOrTx, email: string, keys: readonly string[], reason: 'erased' = 'erased'): Promise<void> {
  await db('suppression_list')
    .insert({ address_hash: addressHash(email, keys[0]!), reason })
    .onConflict('address_hash')
    .ignore();
}

/** The owner confirmed the address again (a fresh double opt-in): it may be mailed once more. */
export async function unsuppressAddress(db: DbOrTx, email: string, keys: readonly string[]): Promise<void> {
  await db('suppression_list').whereIn('address_hash', addressHashes(email, keys)).delete();
}
