import nodemailer, { type TransportOptions } from 'nodemailer';

/** A message as the outbox holds it, ready for SMTP. */
export interface RawMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  headers: Record<string, string>;
}

/**
 * The ceiling of every mail workload: a bare nodemailer pool of `connections` SMTP connections
 * sending the messages, twice as many in flight as connections so that none waits. Returns msg/s.
 */
export async function sendThroughRawPool(
  smtpUrl: string,
  connections: number,
  from: string,
  messages: readonly RawMessage[],
): Promise<number> {
  const pool = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: connections,
    ignoreTLS: true,
  } as TransportOptions);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: connections * 2 }, async () => {
      while (next < messages.length) {
        const m = messages[next++]!;
        await pool.sendMail({
          from,
          to: m.to,
          subject: m.subject,
          text: m.text,
          html: m.html,
          messageId: m.messageId,
          headers: Object.fromEntries(Object.entries(m.headers).map(([k, value]) => [k, { prepared: true, value }])),
        });
      }
    }),
  );
  const ms = performance.now() - t0;
  pool.close();
  return messages.length / (ms / 1000);
}
