import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

/**
 * Where a site served here also answers with axe-core (outside the app, which never sees the
 * request). A page loads it as a same-origin script (the app's CSP allows 'self'), so Chromium
 * keeps it in the context's HTTP cache and V8 code cache instead of the test sending 0.5 MB of
 * source through the browser protocol for every check (test/helpers/browser.ts).
 */
export const AXE_PATH = '/__test/axe.min.js';
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
let axeText: string | undefined;
/** axe-core's source, read on first use. */
export const axeSource = (): string => (axeText ??= readFileSync(axePath, 'utf8'));
/** The origins served here now: only their pages can load AXE_PATH. */
export const servedOrigins = new Set<string>();

/** Serves the app on an ephemeral loopback port (for a browser, or a client that needs a real socket). */
export async function serve(app: Express): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url !== AXE_PATH) return void app(req, res);
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=3600' });
    res.end(axeSource());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  servedOrigins.add(url);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        servedOrigins.delete(url);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
