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
}

interface Key {
  id: string;
  secret: Buffer;
}

export class TokenSigner {
  private readonly keys: Key[];

  constructor(secretKeys: readonly string[]) {
    if (secretKeys.length === 0) throw new Error('TokenSigner needs at least one key');
    this.keys = secretKeys.map((k) => ({
      id: createHash('sha256').update(k).digest('base64url').slice(0, 8),
      secret: Buffer.from(k, 'utf8'),
    }));
  }

  sign(claims: LinkClaims): string {
    const key = this.keys[0] as Key;
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${payload}.${key.id}.${this.mac(key, payload)}`;
  }

  /** The claims if the token is intact, unexpired and for this purpose; otherwise null. */
  verify(token: unknown, purpose: string, now = Date.now()): LinkClaims | null {
    if (typeof token !== 'string' || token.length > 1024) return null;
    const [payload = '', kid = '', mac = '', ...rest] = token.split('.');
    if (rest.length > 0) return null;
    const key = this.keys.find((k) => k.id === kid);
    if (!key) return null;
    const expected = Buffer.from(this.mac(key, payload), 'base64url');
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let claims: LinkClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as LinkClaims;
    } catch {
      return null;
    }
    if (claims.p !== purpose || typeof claims.m !== 'string' || typeof claims.s !== 'string') return null;
    if (claims.e !== undefined && claims.e * 1000 < now) return null;
    return claims;
  }

  private mac(key: Key, payload: string): string {
    return createHmac('sha256', key.secret).update(`assent.v1.${payload}`).digest('base64url');
  }
}
