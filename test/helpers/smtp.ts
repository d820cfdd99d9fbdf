import type { AddressInfo } from 'node:net';
import PostalMime, { type Email } from 'postal-mime';
import { SMTPServer } from 'smtp-server';

export interface CaughtMessage {
  raw: string;
  parsed: Email;
  envelopeTo: string[];
}

/**
 * A real SMTP server in the test process. Tests await messages and read them parsed; they can
 * make the next deliveries fail with a temporary error to exercise retries.
 */
export interface SmtpSink {
  url: string;
  messages: CaughtMessage[];
  /** Reject the next n deliveries with "451 try again later". */
  failNext(n: number): void;
  /** Reject every delivery while on. */
  setRefuseAll(on: boolean): void;
  waitFor(predicate: (m: CaughtMessage) => boolean, timeoutMs?: number): Promise<CaughtMessage>;
  waitForCount(n: number, timeoutMs?: number): Promise<CaughtMessage[]>;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: CaughtMessage[] = [];
  const waiters: (() => void)[] = [];
  let failures = 0;
  let refuseAll = false;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        if (refuseAll || failures > 0) {
          if (failures > 0) failures--;
          const err = Object.assign(new Error('451 try again later'), { responseCode: 451 });
          callback(err);
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        messages.push({ raw, parsed: await PostalMime.parse(raw), envelopeTo: session.envelope.rcptTo.map((r) => r.address) });
        callback();
        waiters.splice(0).forEach((w) => w());
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;

  const waitUntil = async (check: () => boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`SMTP sink: timed out waiting for ${what} (have ${messages.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  };

  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    failNext: (n) => {
      failures = n;
    },
    setRefuseAll: (on) => {
      refuseAll = on;
    },
    async waitFor(predicate, timeoutMs = 10000) {
      await waitUntil(() => messages.some(predicate), timeoutMs, 'a matching message');
      return messages.find(predicate) as CaughtMessage;
    },
    async waitForCount(n, timeoutMs = 10000) {
      await waitUntil(() => messages.length >= n, timeoutMs, `${n} messages`);
      return messages.slice(0, n);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
