import nodemailer, { type Transporter, type TransportOptions } from 'nodemailer';

export type Mailer = Transporter;

/**
 * A pooled SMTP transport. The development catcher speaks plain SMTP on loopback, so TLS
 * upgrades are not attempted there; real servers negotiate STARTTLS as usual.
 */
export function createMailer(smtpUrl: string, opts: { devCatcher?: boolean } = {}): Mailer {
  return nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: 5,
    ...(opts.devCatcher ? { ignoreTLS: true } : {}),
  } as TransportOptions);
}
