import { purposeKeys } from './keys.js';
import { sqlLinks, type SqlLinks } from './sql-links.js';
import { TokenSigner } from './tokens.js';

const DAY = 86400;

export interface UnsubscribeLink {
  /** https URL that accepts the RFC 8058 one-click POST. */
  url: string;
  /** The signed token, also used as the mailto subject so staff can act on a mailed request. */
  token: string;
}

/**
 * Every URL Assent puts in an e-mail. Signed links carry their own authority (C4, C9): the
 * manage link opens the member's preferences only, for a limited time; an unsubscribe link
 * names one topic or "all" and does not expire, as a member may use an old bulletin's link.
 *
 * Links are signed with the "links" key derived from the first master key (shared/keys.ts). Links
 * sent before key separation were signed with a master key itself; unsubscribe links never expire,
 * so the master keys still verify (never sign) them. A token's key id is the fingerprint of the
 * key that signed it, so the two kinds cannot be mistaken for each other.
 */
export class Links {
  readonly signer: TokenSigner;

  constructor(
    readonly baseUrl: string,
    secretKeys: readonly string[],
    private readonly manageLinkDays = 60,
  ) {
    this.signer = new TokenSigner(purposeKeys(secretKeys, 'links'), secretKeys);
  }

  manage(memberId: string, now = Date.now()): string {
    const token = this.signer.sign({ p: 'manage', m: memberId, s: 'all', ...this.manageTimes(now) });
    return `${this.baseUrl}/p/${token}`;
  }

  private manageTimes(now: number): { e: number; i: number } {
    const i = Math.floor(now / 1000);
    return { e: i + this.manageLinkDays * DAY, i };
  }

  /** The same links made by PostgreSQL, for exports streamed out of COPY (sql-links.ts). */
  inSql(now = Date.now()): SqlLinks {
    return sqlLinks({ baseUrl: this.baseUrl, key: this.signer.signingKey, manage: this.manageTimes(now) });
  }

  /** The member a manage link names and when it was issued (links from before issue times count as the oldest); undefined if forged or expired. */
  readManage(token: string): { memberId: string; issuedAt: number } | undefined {
    const claims = this.signer.verify(token, 'manage');
    if (!claims) return undefined;
    return { memberId: claims.m, issuedAt: typeof claims.i === 'number' ? claims.i : 0 };
  }

  /** With a bulletin, the link also names the bulletin it came in (topic-scoped links only). */
  unsubscribe(memberId: string, scope: number | 'all', bulletinId?: number): UnsubscribeLink {
    const claims = { p: 'unsubscribe', m: memberId, s: String(scope) };
    const token = this.signer.sign(bulletinId !== undefined && scope !== 'all' ? { ...claims, b: bulletinId } : claims);
    return { url: `${this.baseUrl}/unsubscribe/${token}`, token };
  }

  /** A single-use link: the random token is the credential, looked up by its hash. */
  action(path: string, token: string): string {
    return `${this.baseUrl}${path}/${token}`;
  }
}
