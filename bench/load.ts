import http from 'node:http';
import { percentile } from './harness.js';

/**
 * A closed-loop HTTP load generator: `connections` keep-alive connections, each sending its next
 * request as soon as the previous answer has been read, for a fixed time. Written on node:http
 * rather than taking autocannon as a dependency: the requests differ per call (a fresh one-click
 * token each time), which this does in a few lines, and it adds nothing to install.
 */
export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  meanMs: number;
  /** Answers with another status than expected, and transport errors. */
  errors: number;
  firstError?: string;
}

export async function runLoad(options: {
  port: number;
  connections: number;
  durationMs: number;
  /** The next request; undefined when there is nothing left to send (the run ends early). */
  next: () => LoadRequest | undefined;
  expectStatus: number;
}): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const until = started + options.durationMs;

  const once = (req: LoadRequest) =>
    new Promise<number>((resolve) => {
      const t0 = performance.now();
      const r = http.request(
        {
          host: '127.0.0.1',
          port: options.port,
          method: req.method,
          path: req.path,
          agent,
          headers: { ...req.headers, ...(req.body === undefined ? {} : { 'content-length': Buffer.byteLength(req.body) }) },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body.length < 300 ? (body += chunk) : undefined));
          res.on('end', () => {
            if (res.statusCode !== options.expectStatus) {
              errors++;
              firstError ??= `${res.statusCode}: ${body.slice(0, 200)}`;
            }
            resolve(performance.now() - t0);
          });
        },
      );
      r.on('error', (err) => {
        errors++;
        firstError ??= err.message;
        resolve(performance.now() - t0);
      });
      r.end(req.body);
    });

  async function connection() {
    while (performance.now() < until) {
      const req = options.next();
      if (!req) return;
      latencies.push(await once(req));
    }
  }
  await Promise.all(Array.from({ length: options.connections }, connection));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return {
    requests: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    meanMs: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
    errors,
    firstError,
  };
}
