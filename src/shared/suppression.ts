import { createHmac } from 'node:crypto';
import type { DbOrTx } from './db-types.js';
import { purposeKeys } from './keys.js';

/**
 * The suppression list (C6) keeps HMAC-SHA256(key, normalised address), never the address.
 *
 * New entries are written with the "suppression" key derived from the first master key
 * (shared/keys.ts). An entry may have been written with the derived key of any master key still
 * configured (rotation), or, before key separation, with a master key itself; an erased address
 * must never be mailed again, so every lookup tries all of them. The list of keys is made here
 * once, for the lookups in this file and for the SQL that computes the same hashes
 * (admin/audiences.repository.ts), so the places that check the list cannot drift apart.
 */
export interface SuppressionKeys {
  /** Writes new entries. */
  readonly write: string;
  /** Every key an entry may have been written with: derived keys first, then the master keys. */
  readonly lookup: readonly string[];
}

export function suppressionKeys(masterKeys: readonly string[]): SuppressionKeys {
  const derived = purposeKeys(masterKeys, 'suppression');
  return Object.freeze({ write: derived[0]!, lookup: Object.freeze([...derived, ...masterKeys]) });
}

export function normaliseAddress(email: string): string {
  return email.trim().toLowerCase();
}

export function addressHash(email: string, key: string): string {
  return createHmac('sha256', key).update(normaliseAddress(email)).digest('hex');
}

/** The hashes under which this address may be on the list. */
export function lookupHashes(email: string, keys: SuppressionKeys): string[] {
  return keys.lookup.map((k) => addressHash(email, k));
}

export async function isSuppressed(db: DbOrTx, email: string, keys: SuppressionKeys): Promise<boolean> {
  const row = await db('suppression_list').whereIn('address_hash', lookupHashes(email, keys)).first('address_hash');
  return row !== undefined;
}

/** Why an address is on the list: erased (C6), or reported by another system as bounced, complained of or suppressed by hand. */
export type SuppressionReason = 'erased' | 'bounce' | 'complaint' | 'manual';

/** An address already listed keeps its first reason. */
/** Puts the address on the list; true if it was not on it (under the writing key) already. */
export async function suppressAddress(
  db: DbOrTx,
  email: string,
  keys: SuppressionKeys,
  reason: SuppressionReason = 'erased',
): Promise<boolean> {
  const added = await db('suppression_list')
    .insert({ address_hash: addressHash(email, keys.write), reason })
    .onConflict('address_hash')
    .ignore()
    .returning('address_hash');
  return added.length > 0;
}

/** The owner confirmed the address again (a fresh double opt-in): it may be mailed once more. */
export async function unsuppressAddress(db: DbOrTx, email: string, keys: SuppressionKeys): Promise<void> {
  await db('suppression_list').whereIn('address_hash', lookupHashes(email, keys)).delete();
}

/**
 * SQL that is true when the address in the column `address` is on the list under any of the keys,
 * bound as a text[] at :suppressionKeys; for a single row (one index probe per key). PostgreSQL's
 * lower(btrim()) agrees with normaliseAddress only on printable ASCII: check hashableInSql first.
 */
export function suppressedInSql(address: string): string {
  return `EXISTS (SELECT 1 FROM suppression_list s WHERE s.address_hash IN (
    SELECT encode(hmac(lower(btrim(${address})), k, 'sha256'), 'hex') FROM unnest(CAST(:suppressionKeys AS text[])) AS k))`;
}

/**
 * For set-based statements over many addresses: one SQL test per lookup key, each true when the
 * address in `address` is on the list under that key. One equality EXISTS per key is an index
 * probe, or a hash (anti-)join when negated; a join against unnest(keys) is planned as a sub-plan
 * run once per row. `key(i)` is the SQL that yields the i-th key — a bound parameter (see
 * suppressionKeyBindings) or a setting — never the key itself.
 */
export function onListUnderEachKeySql(keyCount: number, address: string, key: (i: number) => string): string[] {
  return Array.from(
    { length: keyCount },
    (_, i) =>
      `EXISTS (SELECT 1 FROM suppression_list s WHERE s.address_hash = encode(hmac(lower(btrim(${address})), ${key(i)}, 'sha256'), 'hex'))`,
  );
}

/** The lookup keys as named bindings :key0, :key1 …, and the SQL that reads the i-th as text. */
export function suppressionKeyBindings(keys: SuppressionKeys): Record<string, string> {
  return Object.fromEntries(keys.lookup.map((k, i) => [`key${i}`, k]));
}
export const boundKey = (i: number) => `CAST(:key${i} AS text)`;

/** True when PostgreSQL hashes this address as addressHash() does (printable ASCII only). */
export function hashableInSql(email: string): boolean {
  return /^[\x20-\x7e]*$/.test(email);
}

/** The addresses among these that are on the suppression list (C6), in one query. */
export async function suppressedAmong(db: DbOrTx, keys: SuppressionKeys, emails: readonly string[]): Promise<Set<string>> {
  const byHash = new Map<string, string>();
  for (const email of emails) for (const h of lookupHashes(email, keys)) byHash.set(h, email);
  if (byHash.size === 0) return new Set();
  const rows = (await db('suppression_list')
    .whereIn('address_hash', [...byHash.keys()])
    .select('address_hash')) as { address_hash: string }[];
  return new Set(rows.map((r) => byHash.get(r.address_hash)!));
}
