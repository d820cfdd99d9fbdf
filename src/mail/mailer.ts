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

/**
 * A pooled SMTP transport of at most `maxConnections` connections (SMTP_MAX_CONNECTIONS, 5 by
 * default). The development catcher speaks plain SMTP on loopback, so TLS upgrades are not
 * attempted there; real servers negotiate STARTTLS as usual. With DKIM settings, every message is
 * signed.
 */
export function createMailer(smtpUrl: string, opts: { devCatcher?: boolean; dkim?: DkimOptions; maxConnections?: number } = {}): Mailer {
  return nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: opts.maxConnections ?? 5,
    ...(opts.devCatcher ? { ignoreTLS: true } : {}),
    ...(opts.dkim ? { dkim: { ...opts.dkim, headerFieldNames: DKIM_SIGNED_HEADERS } } : {}),
  } as TransportOptions);
}
