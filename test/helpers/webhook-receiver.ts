import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedEvent {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

/**
 * A webhook receiver as another system would run it: a plain node http server that verifies every
 * request with the standardwebhooks package. While `failNext` is above zero it answers 503 (an
 * outage); otherwise it records the verified event and answers 204.
 */
export interface WebhookReceiver {
  url: string;
  secret: string | undefined;
  /** Verified events, in order of arrival. */
  events: ReceivedEvent[];
  /** Every request, verified or not. */
  requests: number;
  refusedSignatures: number;
  failNext: number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = {
    url: '',
    secret: undefined,
    events: [],
    requests: 0,
    refusedSignatures: 0,
    failNext: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.requests++;
      if (receiver.failNext > 0) {
        receiver.failNext--;
        res.writeHead(503).end('down for maintenance');
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        const payload = new Webhook(receiver.secret ?? '').verify(body, req.headers as Record<string, string>) as {
          type: string;
          data: Record<string, unknown>;
        };
        receiver.events.push({ id: String(req.headers['webhook-id']), type: payload.type, data: payload.data });
        res.writeHead(204).end();
      } catch {
        receiver.refusedSignatures++;
        res.writeHead(401).end('bad signature');
      }
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}
