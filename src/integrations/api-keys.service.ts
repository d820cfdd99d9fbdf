import { createHmac, randomBytes } from 'node:crypto';
import { appendAudit } from '../audit/audit.repository.js';
import { inTransaction } from '../db.js';
import type { ServiceContext } from '../context.js';
import { ConflictError, NotFoundError, ValidationError, isUniqueViolation } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';
import { purposeKeys } from '../shared/keys.js';
import { findApiKey, insertApiKey, listApiKeys, revokeApiKey, useApiKey, type ApiKeyRow } from './api-keys.repository.js';
import type { ApiScope } from './api-keys.schemas.js';

/** Every key starts so, which tells a reader (and a secret scanner) what it is. */
export const API_KEY_PREFIX = 'assent_';
const KEY_SPELLING = /^assent_[A-Za-z0-9_-]{43}$/;

/** The "api-keys" purpose keys, derived once per set of master keys. */
const derived = new WeakMap<readonly string[], string[]>();
function hashKeys(svc: ServiceContext): string[] {
  let keys = derived.get(svc.config.secretKeys);
  if (!keys) derived.set(svc.config.secretKeys, (keys = purposeKeys(svc.config.secretKeys, 'api-keys')));
  return keys;
}

const hashWith = (key: string, token: string) => createHmac('sha256', key).update(token).digest('hex');

/**
 * Makes a key (issue 12): 32 random bytes, shown to the administrator once and stored only as a
 * keyed hash (HMAC-SHA256 under the first "api-keys" key; every configured key verifies, so keys
 * made before a SECRET_KEYS rotation keep working).
 */
export async function createApiKey(
  svc: ServiceContext,
  staffUserId: string,
  input: { name: string; scopes: ApiScope[] },
): Promise<{ key: string; row: ApiKeyRow }> {
  const random = randomBytes(32).toString('base64url');
  const key = `${API_KEY_PREFIX}${random}`;
  try {
    return await inTransaction(svc.db, async (trx) => {
      const row = await insertApiKey(trx, {
        name: input.name,
        scopes: input.scopes,
        hint: random.slice(0, 6),
        secretHash: hashWith(hashKeys(svc)[0]!, key),
        createdBy: staffUserId,
      });
      await appendAudit(trx, {
        staffUserId,
        action: 'api_key.created',
        details: { apiKeyId: row.id, name: row.name, scopes: row.scopes },
      });
      return { key, row };
    });
  } catch (err) {
    if (isUniqueViolation(err, 'api_keys_live_name_idx'))
      throw new ValidationError(
        { name: 'A live key already has this name. Choose another name, or revoke that key first.' },
        { name: input.name, scopes: input.scopes },
      );
    throw err;
  }
}

export function apiKeys(svc: ServiceContext): Promise<ApiKeyRow[]> {
  return listApiKeys(svc.db);
}

/** Revoking is immediate: the next call with the key is refused (the key is looked up on every call). */
export async function revokeKey(svc: ServiceContext, staffUserId: string, id: string): Promise<ApiKeyRow> {
  return inTransaction(svc.db, async (trx) => {
    const key = isUuid(id) ? await findApiKey(trx, id) : undefined;
    if (!key) throw new NotFoundError('We could not find that API key.');
    if (!(await revokeApiKey(trx, key.id, staffUserId))) throw new ConflictError('This key was already revoked.');
    await appendAudit(trx, { staffUserId, action: 'api_key.revoked', details: { apiKeyId: key.id, name: key.name } });
    return key;
  });
}

/** The live key a bearer token is, its last use recorded; undefined for anything else (garbled, unknown, revoked). */
export async function authenticateApiKey(svc: ServiceContext, token: string): Promise<ApiKeyRow | undefined> {
  if (!KEY_SPELLING.test(token)) return undefined;
  return useApiKey(
    svc.db,
    hashKeys(svc).map((k) => hashWith(k, token)),
  );
}
