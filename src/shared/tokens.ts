import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed link tokens (DESIGN rule 7). A token names its purpose, its member and its scope
 * (a topic id or "all"), and is signed with HMAC-SHA256. The key id is a fingerprint of the
 * key, so keys can rotate: the first key signs, every listed key verifies, and prepending a
 * new key does not invalidate links already sent. A token never contains an e-mail address.
 *
 * Format: base64url(JSON claims) "." key id "." base64url(mac)
 */
export interface LinkClaims {
  /** What the link may do, e.g. "unsubscribe" or "manage". */
  p: string;
  /** Member id. */
  m: string;
  /** Scope: a topic id or "all". */
  s: string;
  /** Expiry, seconds since the epoch; absent for links that stay valid (unsubscribe). */
  e?: number;
  /** Issued at, seconds since the epoch (manage links): a member's e-mail change voids older ones. */
  i?: number;
  /** The bulletin an unsubscribe link came in, so the opt-out is counted for it. */
  b?: number;
}

/** An HMAC-SHA256 in base64url; comparing it with the exact string the key writes makes it canonical. */
const MAC_SPELLING = /^[A-Za-z0-9_-]{43}$/;

/** Only the spelling Buffer writes: the URL-safe alphabet, no padding, no stray bits. */
function isCanonicalBase64url(s: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(s) && Buffer.from(s, 'base64url').toString('base64url') === s;
}

interface Key {
  id: string;
  secret: Buffer;
  /** The key as configured (HMAC keys are its UTF-8 bytes), for signing in SQL (links.ts). */
  text: string;
}

export class TokenSigner {
  private readonly keys: Key[];

  /**
   * The first signing key signs; every signing key verifies, and so does every verify-only key
   * (keys retired from signing whose links may still be in members' mailboxes).
   */
  constructor(signingKeys: readonly string[], verifyOnlyKeys: readonly string[] = []) {
    if (signingKeys.length === 0) throw new Error('TokenSigner needs at least one key');
    this.keys = [...signingKeys, ...verifyOnlyKeys].map((k) => ({
      id: createHash('sha256').update(k).digest('base64url').slice(0, 8),
      secret: Buffer.from(k, 'utf8'),
      text: k,
    }));
  }

  /** The key that signs now: its id and its text, for SQL that writes the same tokens (sql-links.ts). */
  get signingKey(): { id: string; text: string } {
    const key = this.keys[0] as Key;
    return { id: key.id, text: key.text };
  }

  sign(claims: LinkClaims): string {
    const key = this.keys[0] as Key;
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${payload}.${key.id}.${this.mac(key, payload)}`;
  }

  /**
   * The claims if the token is intact, unexpired and for this purpose; otherwise null. A token has
   * exactly one spelling: lenient base64url would accept padding, junk, whitespace or other unused
   * bits in a last character, so each part is checked against its one canonical form and the MAC
   * is compared as the exact string this key would write.
   */
  verify(token: unknown, purpose: string, now = Date.now()): LinkClaims | null {
    if (typeof token !== 'string' || token.length > 1024) return null;
    const [payload = '', kid = '', mac = '', ...rest] = token.split('.');
    if (rest.length > 0 || !isCanonicalBase64url(payload) || !MAC_SPELLING.test(mac)) return null;
    const given = Buffer.from(mac, 'ascii');
    const intact = this.keys.some((k) => k.id === kid && timingSafeEqual(given, Buffer.from(this.mac(k, payload), 'ascii')));
    if (!intact) return null;
    let claims: LinkClaims | null;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as LinkClaims | null;
    } catch {
      return null;
    }
    if (claims?.p !== purpose || typeof claims.m !== 'string' || typeof claims.s !== 'string') return null;
    if (claims.b !== undefined && !(Number.isSafeInteger(claims.b) && claims.b > 0)) return null;
    if (claims.e !== undefined && claims.e * 1000 < now) return null;
    return claims;
  }

  private mac(key: Key, payload: string): string {
    return createHmac('sha256', key.secret).update(`assent.v1.${payload}`).digest('base64url');
  }
}
