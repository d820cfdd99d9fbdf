import type { AddressInfo, Socket } from 'node:net';
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
  /** Refuse every message to this address with a permanent "550 no such user" (a bounce). */
  refuseAddress(address: string): void;
  /** Take this long over each message before answering (a slow server); 0 answers at once. */
  setDelay(ms: number): void;
  /** While on, a message whose data has arrived is never answered (a hung server); the client must give up. */
  setHang(on: boolean): void;
  /** How many messages the hung server has left unanswered so far. */
  hung(): number;
  /** Messages whose data has arrived and that have not been answered yet (held at least `minDelayMs`, if given). */
  inFlight(minDelayMs?: number): number;
  /** The envelope recipients of those messages. */
  inFlightRecipients(minDelayMs?: number): string[];
  waitFor(predicate: (m: CaughtMessage) => boolean, timeoutMs?: number): Promise<CaughtMessage>;
  waitForCount(n: number, timeoutMs?: number): Promise<CaughtMessage[]>;
  /** Stops listening (connections are refused, as with a server that is down); messages and settings are kept. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: CaughtMessage[] = [];
  const waiters: (() => void)[] = [];
  let failures = 0;
  let refuseAll = false;
  let delayMs = 0;
  let hang = false;
  let hungCount = 0;
  const refused = new Set<string>();
  const inFlight = new Set<{ rcpt: string[]; delayMs: number }>();
  const makeServer = () =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', async () => {
          if (hang) {
            // Never answered: the message is not taken, and the client waits until it gives up.
            hungCount++;
            return;
          }
          if (delayMs > 0) {
            // The message is whole: a real server that dies or is cut off now may still deliver it.
            const held = { rcpt: session.envelope.rcptTo.map((r) => r.address), delayMs };
            inFlight.add(held);
            await new Promise((r) => setTimeout(r, held.delayMs));
            inFlight.delete(held);
          }
          if (session.envelope.rcptTo.some((r) => refused.has(r.address))) {
            callback(Object.assign(new Error('550 no such user'), { responseCode: 550 }));
            return;
          }
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
  /** Listens on the port (0: any free one); a client that dies mid-conversation (a killed worker) resets its connection: not our failure. */
  const listen = async (on: number): Promise<SMTPServer> => {
    const s = makeServer();
    s.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.listen(on, '127.0.0.1', () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    return s;
  };
  let server: SMTPServer | undefined = await listen(0);
  const { port } = server.server.address() as AddressInfo;
  const closeServer = async (drop = false) => {
    const s = server;
    server = undefined;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    // A server that goes down drops its connections (a client's idle pooled one included) rather than waiting for them.
    if (drop) for (const c of (s as unknown as { connections: Set<{ _socket?: Socket }> }).connections) c._socket?.destroy();
    await closed;
  };

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
    refuseAddress: (address) => {
      refused.add(address);
    },
    setDelay: (ms) => {
      delayMs = ms;
    },
    setHang: (on) => {
      hang = on;
    },
    hung: () => hungCount,
    inFlight: (minDelayMs = 0) => [...inFlight].filter((h) => h.delayMs >= minDelayMs).length,
    inFlightRecipients: (minDelayMs = 0) => [...inFlight].filter((h) => h.delayMs >= minDelayMs).flatMap((h) => h.rcpt),
    async waitFor(predicate, timeoutMs = 10000) {
      await waitUntil(() => messages.some(predicate), timeoutMs, 'a matching message');
      return messages.find(predicate) as CaughtMessage;
    },
    async waitForCount(n, timeoutMs = 10000) {
      await waitUntil(() => messages.length >= n, timeoutMs, `${n} messages`);
      return messages.slice(0, n);
    },
    down: () => closeServer(true),
    async up() {
      server ??= await listen(port);
    },
    close: () => closeServer(),
  };
}
