import { composeEmail, type BuiltEmail, type MailContext, type UnsubscribeLink } from './email.js';
import { renderEmailTemplates } from './render.js';

/**
 * The one template behind every message to a member about their own account: a greeting,
 * paragraphs, an optional list (what changed), an optional button, and the footer that says how
 * to manage one's choices (the member's manage link when the message may carry one). Builders in members/, consent/ and removal/ fill it in.
 */
export interface MemberMessage {
  kind: string;
  to: string;
  memberId: string | null;
  subject: string;
  greeting: string;
  paragraphs: string[];
  list?: string[];
  action?: { label: string; url: string };
  /** Said after the button: how to undo, or what to do if this was not you. */
  after?: string[];
  manageUrl?: string;
  /** Without a manage link, how the footer says the choices are managed (a default says: sign in at /manage). */
  manageNote?: string;
  /** Transactional mail: why it is sent whatever the choices (a default says: it is about your own account). */
  why?: string;
  /** Only for non-transactional mail. */
  unsubscribe?: UnsubscribeLink;
  /** See BuiltEmail: facts the send task acts on. */
  reachesSuppressed?: boolean;
  scrubAfterSend?: boolean;
}

export function memberMessageEmail(ctx: MailContext, m: MemberMessage): BuiltEmail {
  const { html, text } = renderEmailTemplates('member-message', { ctx, m, subject: m.subject });
  return composeEmail(
    {
      kind: m.kind,
      to: m.to,
      memberId: m.memberId,
      subject: m.subject,
      html,
      text,
      ...(m.reachesSuppressed ? { reachesSuppressed: true } : {}),
      ...(m.scrubAfterSend ? { scrubAfterSend: true } : {}),
    },
    ctx,
    m.unsubscribe ? { transactional: false, unsubscribe: m.unsubscribe } : { transactional: true },
  );
}
