import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';

/**
 * A newcomer runs `npm start` in a terminal and presses Ctrl-C: the terminal sends SIGINT to the
 * whole foreground process group. The embedded PostgreSQL runs in a group of its own, so it is not
 * stopped under the app's feet (no "terminating connection" errors while the app drains), and the
 * app stops it last. A real pseudo-terminal comes from util-linux `script`.
 */
const dataDir = mkdtempSync(path.join(tmpdir(), 'assent-ctrl-c-'));
chmodSync(dataDir, 0o755);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const postgresOf = (port: number) => {
  try {
    // No shell in between: its own command line would match the pattern.
    return execFileSync('pgrep', ['-f', `postgres -D .* -p ${port}`], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

describe('Ctrl-C in a terminal', () => {
  it('stops the app first and its embedded PostgreSQL last, with no database error on the way', async () => {
    const [port, pgPort] = [await freePort(), await freePort()];
    // exec: the app itself is the terminal's foreground process, not a shell around it.
    const command = `exec ${[process.execPath, '--import', 'tsx', 'src/server.ts'].map((a) => `'${a}'`).join(' ')}`;
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: String(port), EMBEDDED_PG_PORT: String(pgPort) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60000;
    while (!out.includes('Press Ctrl-C to stop.')) {
      if (Date.now() > deadline) throw new Error(`the app did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(postgresOf(pgPort)).not.toBe('');
    // What the terminal does on Ctrl-C: SIGINT to the foreground process group.
    child.stdin.write('\x03');
    expect([await exited, out.includes('shutdown.done')]).toEqual([0, true]);
    expect(out).not.toMatch(/terminating connection|db\.unreachable|ECONNREFUSED|57P01/);
    expect(postgresOf(pgPort)).toBe('');
  }, 90000);
});
