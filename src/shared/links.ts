import type { UnsubscribeLink } from '../mail/email.js';
import { TokenSigner } from './tokens.js';

const DAY = 86400;

/**
 * Every URL Assent puts in an e-mail. Signed links carry their own authority (C4, C9): the
 * manage link opens the member's preferences only, for a limited time; an unsubscribe link
 * names one topic or "all" and does not expire, as a member may use an old bulletin's link.
 */
export class Links {
  readonly signer: TokenSigner;

  constructor(
    readonly baseUrl: string,
    secretKeys: readonly string[],
    private readonly manageLinkDays = 60,
  ) {
    this.signer = new TokenSigner(secretKeys);
  }

  manage(memberId: string): string {
    const token = this.signer.sign({ p: 'manage', m: memberId, s: 'all', e: Math.floor(Date.now() / 1000) + this.manageLinkDays * DAY });
    return `${this.baseUrl}/p/${token}`;
  }

  unsubscribe(memberId: string, scope: number | 'all'): UnsubscribeLink {
    const token = this.signer.sign({ p: 'unsubscribe', m: memberId, s: String(scope) });
    return { url: `${this.baseUrl}/unsubscribe/${token}`, token };
  }

  /** A single-use link: the random token is the credential, looked up by its hash. */
  action(path: string, token: string): string {
    return `${this.baseUrl}${path}/${token}`;
  }
}
