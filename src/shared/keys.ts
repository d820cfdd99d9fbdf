import { hkdfSync } from 'node:crypto';

/**
 * Key separation (C11). SECRET_KEYS holds the operator's master keys; nothing uses them directly.
 * Each use gets its own key, derived from every master key with HKDF-SHA256 and the purpose in
 * the derivation, so a key that leaks from one use (a session-cookie signature oracle, say) says
 * nothing about another (link signatures, the suppression list's keyed hashes).
 *
 * The order of SECRET_KEYS is kept: the key derived from the first master key signs or encrypts,
 * and the keys derived from every master key verify or decrypt, so rotation works per purpose.
 */
export type KeyPurpose =
  /** express-session cookie signatures. */
  | 'session'
  /** Signed e-mail links (manage, unsubscribe). */
  | 'links'
  /** The suppression list's keyed hashes of erased addresses. */
  | 'suppression'
  /** Staff recovery codes, stored as keyed hashes. */
  | 'recovery-codes'
  /** The per-page nonce of link-confirmation forms. */
  | 'link-confirm'
  /** API keys, stored as keyed hashes (issue 12). */
  | 'api-keys';

const SALT = 'assent-key-separation';

/** One purpose's key from one master key: 32 bytes, written as base64url (a plain string key for HMAC). */
export function purposeKey(masterKey: string, purpose: KeyPurpose): string {
  return Buffer.from(hkdfSync('sha256', masterKey, SALT, `assent/${purpose}/v1`, 32)).toString('base64url');
}

/** One purpose's keys, in the order of the master keys: the first signs, all verify. */
export function purposeKeys(masterKeys: readonly string[], purpose: KeyPurpose): string[] {
  if (masterKeys.length === 0) throw new Error('no secret keys to derive from');
  return masterKeys.map((k) => purposeKey(k, purpose));
}
