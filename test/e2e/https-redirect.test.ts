import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestContext, TEST_SECRET, type TestContext } from '../helpers/app.js';
import { serve } from '../helpers/serve.js';

const BASE_URL = 'https://members.example.org';
let ctx: TestContext;
let site: { url: string; close(): Promise<void> };

beforeAll(async () => {
  ctx = await startTestContext({ NODE_ENV: 'production', BASE_URL, SECRET_KEYS: TEST_SECRET, ORG_ADDRESS: '1 Test Street, Testtown' });
  site = await serve(ctx.app);
});
afterAll(async () => {
  await site.close();
  await ctx.close();
});

/** Sends one request with this exact request target (no client tidies it up) and reads the answer's head. */
function rawRequest(method: string, target: string): Promise<{ status: number; location: string | undefined }> {
  const { hostname, port } = new URL(site.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`${method} ${target} HTTP/1.1\r\nHost: members.example.org\r\nConnection: close\r\n\r\n`);
    });
    let head = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (head += chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      const location = /\r\nlocation: ([^\r]*)\r\n/i.exec(head)?.[1];
      resolve({ status, location });
    });
  });
}

describe('C11: production refuses plain HTTP, and its redirect never leaves BASE_URL', () => {
  it('C11: a plain-HTTP GET is sent to the same path and query on the https origin', async () => {
    expect(await rawRequest('GET', '/privacy?x=1')).toEqual({ status: 308, location: `${BASE_URL}/privacy?x=1` });
    expect(await rawRequest('HEAD', '/')).toEqual({ status: 308, location: `${BASE_URL}/` });
  });

  it('C11: odd request targets (userinfo, scheme-relative, absolute-form, backslashes) still redirect to BASE_URL’s origin', async () => {
    for (const target of [
      '@evil.example/x',
      '//evil.example',
      '//evil.example/x?y=1',
      '///evil.example/x',
      'http://evil.example/',
      'https://evil.example/x?y=1',
      'http://user@evil.example/x',
      '/\\evil.example/x',
      '/.//evil.example',
      '/%2F%2Fevil.example',
      '*',
      'HTTP://EVIL.EXAMPLE/x',
      '/x@evil.example',
      'evil.example/x',
      'http://[evil.example/x',
    ]) {
      const { status, location } = await rawRequest('GET', target);
      if (status !== 308) {
        // Node's HTTP parser (400) or Express's router (404) may refuse a target outright: no redirect at all.
        expect([target, [400, 404].includes(status), location]).toEqual([target, true, undefined]);
        continue;
      }
      const url = new URL(location!);
      // The same origin, spelt as BASE_URL, and a path that no later relative redirect could read as a host.
      expect([target, url.origin, location!.startsWith(`${BASE_URL}/`), url.pathname.startsWith('//')]).toEqual([
        target,
        BASE_URL,
        true,
        false,
      ]);
    }
  });

  it('C11: a plain-HTTP POST is refused, not redirected', async () => {
    expect(await rawRequest('POST', '//evil.example/join')).toEqual({ status: 403, location: undefined });
  });
});
