import type { MailReport } from './bounces.service.js';

/**
 * Turns what Amazon SES (inside an SNS notification) and Postmark post into MailReports: one per
 * recipient, with the provider's codes and the Message-ID our message was sent with. Anything of
 * another kind (opens, clicks, sends) gives no report. Reads only fields both providers document.
 */
type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/** SES keeps the original headers when the identity is set to include them; commonHeaders.messageId first. */
function sesMessageId(mail: Json): string | null {
  const common = str(obj(mail.commonHeaders).messageId);
  if (common) return common;
  const header = arr(mail.headers)
    .map(obj)
    .find((h) => str(h.name).toLowerCase() === 'message-id');
  return header ? str(header.value) || null : null;
}

/** The SES notification (the SNS Message, parsed): bounce, complaint or delivery. */
export function sesReports(message: Json): MailReport[] {
  const type = str(message.notificationType ?? message.eventType);
  const mail = obj(message.mail);
  const messageId = sesMessageId(mail);
  const base = { provider: 'ses' as const, messageId };
  if (type === 'Bounce') {
    const bounce = obj(message.bounce);
    const bounceType = str(bounce.bounceType);
    const kind = bounceType === 'Permanent' ? 'hard_bounce' : 'soft_bounce';
    return arr(bounce.bouncedRecipients).map((r, i) => ({
      ...base,
      providerEventId: `${str(bounce.feedbackId) || str(mail.messageId)}#${i}`,
      kind,
      detail: [bounceType, str(bounce.bounceSubType)].filter(Boolean).join('/'),
      address: str(obj(r).emailAddress),
    }));
  }
  if (type === 'Complaint') {
    const complaint = obj(message.complaint);
    return arr(complaint.complainedRecipients).map((r, i) => ({
      ...base,
      providerEventId: `${str(complaint.feedbackId) || str(mail.messageId)}#${i}`,
      kind: 'complaint' as const,
      detail: str(complaint.complaintFeedbackType) || 'complaint',
      address: str(obj(r).emailAddress),
    }));
  }
  if (type === 'Delivery') {
    const delivery = obj(message.delivery);
    return arr(delivery.recipients).map((r, i) => ({
      ...base,
      providerEventId: `${str(mail.messageId)}#${i}`,
      kind: 'delivery' as const,
      detail: '',
      address: str(r),
    }));
  }
  return [];
}

const POSTMARK_HARD = new Set(['HardBounce', 'BadEmailAddress', 'ManuallyDeactivated']);
const POSTMARK_SOFT = new Set(['SoftBounce', 'Transient', 'DnsError']);

/** Postmark keeps the original message in Content (when "include content" is on): its Message-ID header. */
function postmarkMessageId(body: Json): string | null {
  const found = /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(str(body.Content));
  return found ? found[1]! : null;
}

/** A Postmark webhook: Bounce, SpamComplaint or Delivery; bounce types that are not failures are left out. */
export function postmarkReports(body: Json): MailReport[] {
  const recordType = str(body.RecordType);
  const base = { provider: 'postmark' as const, messageId: postmarkMessageId(body) };
  if (recordType === 'Bounce' || recordType === 'SpamComplaint') {
    const type = str(body.Type);
    const kind =
      recordType === 'SpamComplaint' || type === 'SpamComplaint'
        ? 'complaint'
        : POSTMARK_HARD.has(type)
          ? 'hard_bounce'
          : POSTMARK_SOFT.has(type)
            ? 'soft_bounce'
            : null;
    if (!kind) return [];
    return [{ ...base, providerEventId: str(body.ID) || str(body.MessageID), kind, detail: type, address: str(body.Email) }];
  }
  if (recordType === 'Delivery') {
    return [{ ...base, providerEventId: str(body.MessageID), kind: 'delivery', detail: '', address: str(body.Recipient) }];
  }
  return [];
}
