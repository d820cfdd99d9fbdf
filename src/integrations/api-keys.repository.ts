import type { DbOrTx } from '../db.js';
import type { ApiScope } from './api-keys.schemas.js';

export interface ApiKeyRow {
  id: string;
  name: string;
  scopes: ApiScope[];
  /** The first characters of the key, so staff can tell keys apart; not enough to use it. */
  hint: string;
  created_by: string;
  created_by_name?: string | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = ['k.id', 'k.name', 'k.scopes', 'k.hint', 'k.created_by', 'k.created_at', 'k.last_used_at', 'k.revoked_at'];

export async function insertApiKey(
  db: DbOrTx,
  k: { name: string; scopes: ApiScope[]; hint: string; secretHash: string; createdBy: string },
): Promise<ApiKeyRow> {
  const [row] = await db('api_keys')
    .insert({ name: k.name, scopes: k.scopes, hint: k.hint, secret_hash: k.secretHash, created_by: k.createdBy })
    .returning(['id', 'name', 'scopes', 'hint', 'created_by', 'created_at', 'last_used_at', 'revoked_at']);
  return row as ApiKeyRow;
}

/** Live keys first (newest first), then revoked ones. */
export async function listApiKeys(db: DbOrTx): Promise<ApiKeyRow[]> {
  return db('api_keys as k')
    .leftJoin('staff_users as s', 's.id', 'k.created_by')
    .select(...COLUMNS, 's.name as created_by_name')
    .orderByRaw('k.revoked_at IS NOT NULL, k.created_at DESC, k.id') as unknown as Promise<ApiKeyRow[]>;
}

export async function findApiKey(db: DbOrTx, id: string): Promise<ApiKeyRow | undefined> {
  return db('api_keys as k')
    .where('k.id', id)
    .first(...COLUMNS) as Promise<ApiKeyRow | undefined>;
}

/** Revokes a live key; false if it was not live (unknown or already revoked). */
export async function revokeApiKey(db: DbOrTx, id: string, staffUserId: string): Promise<boolean> {
  const n = await db('api_keys').where({ id }).whereNull('revoked_at').update({ revoked_at: db.fn.now(), revoked_by: staffUserId });
  return n > 0;
}

/**
 * The live key stored under one of these hashes, its last use set to now, in one statement: a key
 * revoked a moment ago matches nothing, so it is refused at once.
 */
export async function useApiKey(db: DbOrTx, hashes: readonly string[]): Promise<ApiKeyRow | undefined> {
  const [row] = await db('api_keys')
    .whereIn('secret_hash', [...hashes])
    .whereNull('revoked_at')
    .update({ last_used_at: db.fn.now() })
    .returning(['id', 'name', 'scopes', 'hint', 'created_by', 'created_at', 'last_used_at', 'revoked_at']);
  return row as ApiKeyRow | undefined;
}
