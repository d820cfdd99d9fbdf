import type { UnsubscribeLink } from '../shared/links.js';

export type { UnsubscribeLink };
/**
 * The shape every e-mail builder returns, and the rule that non-transactional mail carries
 * the one-click unsubscribe headers (C4, RFC 2369 and RFC 8058).
 */
export interface MailContext {
  orgName: string;
  baseUrl: string;
  privacyContact: string;
  /** The organisation's zone (ORG_TIMEZONE): every time in a message is written in it, with its name. */
  timeZone: string;
  /** The branding when the message is built (issue 13.11). */
  brand: MailBrand;
}

/** The content id of the logo, attached inline by the send task (mail/branded.ts). */
export const LOGO_CID = 'brand-logo';

/**
 * What a message's HTML needs of the branding: the primary colour (buttons, links, heading), and
 * whether the logo goes in as an inline image. Only PNG and JPEG logos do: many mail programs
 * (Outlook, Gmail) show no SVG, so with an SVG logo the heading shows the organisation's name alone.
 */
export interface MailBrand {
  colour: string;
  inlineLogo: boolean;
}

export const INLINE_LOGO_TYPES: readonly string[] = ['image/png', 'image/jpeg'];

export function mailBrand(brand: { colour: string; logo: { type: string } | null }): MailBrand {
  return { colour: brand.colour, inlineLogo: brand.logo !== null && INLINE_LOGO_TYPES.includes(brand.logo.type) };
}

export interface BuiltEmail {
  kind: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
  memberId: string | null;
  /** Set for mail sent because of a topic: the worker re-checks that consent at send time (C3). */
  topicId: number | null;
  /** May reach an address on the suppression list (only the double opt-in and the erasure's completion mail, C6). */
  reachesSuppressed?: boolean;
  /** Its content is scrubbed once it has gone: the last place an erased address exists (C6). */
  scrubAfterSend?: boolean;
}

/**
 * List-Unsubscribe must stay on one line: folding it can break DKIM signatures (nodemailer#1654),
 * so the mailer passes these headers through unfolded.
 */
export function listUnsubscribeHeaders(link: UnsubscribeLink, ctx: MailContext): Record<string, string> {
  const mailto = `mailto:${ctx.privacyContact}?subject=${encodeURIComponent(`unsubscribe ${link.token}`)}`;
  return {
    'List-Unsubscribe': `<${link.url}>, <${mailto}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
}

export function composeEmail(
  parts: Omit<BuiltEmail, 'headers' | 'topicId'> & { topicId?: number | null },
  ctx: MailContext,
  delivery: { transactional: true } | { transactional: false; unsubscribe: UnsubscribeLink },
): BuiltEmail {
  return {
    ...parts,
    topicId: parts.topicId ?? null,
    headers: delivery.transactional ? {} : listUnsubscribeHeaders(delivery.unsubscribe, ctx),
  };
}
