import nodemailer, { type Transporter, type TransportOptions } from 'nodemailer';

export type Mailer = Transporter;

/** What nodemailer needs to DKIM-sign (config.dkim). */
export interface DkimOptions {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

/**
 * The headers the DKIM signature covers: nodemailer's defaults (which include List-Id and
 * List-Unsubscribe) and List-Unsubscribe-Post, which RFC 8058 §3 requires to be signed too.
 */
export const DKIM_SIGNED_HEADERS =
  'From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:' +
  'Content-ID:Content-Description:In-Reply-To:References:List-Id:List-Unsubscribe:List-Unsubscribe-Post';

/** nodemailer's own limits are up to 10 minutes (socketTimeout): longer than any shutdown grace. */
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * A pooled SMTP transport of at most `maxConnections` connections (SMTP_MAX_CONNECTIONS, 5 by
 * default). The development catcher speaks plain SMTP on loopback, so TLS upgrades are not
 * attempted there; real servers negotiate STARTTLS as usual. With DKIM settings, every message is
 * signed.
 *
 * A server that does not connect, greet or answer within `timeoutMs` (SMTP_TIMEOUT_SECONDS, shorter
 * than the shutdown grace) fails the send, which the send job records and retries later: a hung
 * SMTP server never holds a job, or a process that was asked to stop, for longer than that. The
 * timeout counts silence, so a large message that is still being accepted is not cut off.
 */
export function createMailer(
  smtpUrl: string,
  opts: { devCatcher?: boolean; dkim?: DkimOptions; maxConnections?: number; timeoutMs?: number } = {},
): Mailer {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: opts.maxConnections ?? 5,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    ...(opts.devCatcher ? { ignoreTLS: true } : {}),
    ...(opts.dkim ? { dkim: { ...opts.dkim, headerFieldNames: DKIM_SIGNED_HEADERS } } : {}),
  } as TransportOptions);
}
