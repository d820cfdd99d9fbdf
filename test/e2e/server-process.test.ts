import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase } from '../helpers/db.js';

/** Starts src/server.ts as `npm start` does and collects what it prints. */
function startServer(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** The exit code followed by everything the process printed, so a wrong code shows why. */
async function exitReport(server: { exited: Promise<number | null>; output: () => string }): Promise<string> {
  return `exit ${String(await server.exited)}\n${server.output()}`;
}

async function waitForOutput(output: () => string, text: string, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for "${text}"; output so far:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const dataDirs: string[] = [];
afterAll(() => dataDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('npm start', () => {
  it('refuses to start in production without its settings, saying what to set', async () => {
    const server = startServer({ NODE_ENV: 'production' });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('Assent cannot start. Invalid configuration:');
    expect(server.output()).toContain('DATABASE_URL must be set in production');
    expect(server.output()).toContain('SMTP_URL must be set in production');
    expect(server.output()).toContain('SECRET_KEYS must be set in production');
  });

  it('without DATABASE_URL runs its own PostgreSQL and mail catcher, seeds demo data, stops cleanly and keeps the data', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'assent-start-'));
    chmodSync(dataDir, 0o755);
    dataDirs.push(dataDir);
    const env = { DATA_DIR: dataDir, PORT: String(await freePort()), EMBEDDED_PG_PORT: String(await freePort()) };
    const base = `http://localhost:${env.PORT}`;

    const first = startServer(env);
    await waitForOutput(first.output, 'Press Ctrl-C to stop.');
    expect(first.output()).toContain(`Site:          ${base}/`);
    expect(first.output()).toContain(`Mail catcher:  ${base}/dev/mail`);
    expect(first.output()).toContain('embedded PostgreSQL');
    const home = await fetch(`${base}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('Demo Society');
    expect(await (await fetch(`${base}/privacy`)).text()).toContain('Version 1.0');
    expect((await fetch(`${base}/dev/mail`)).status).toBe(200);
    first.child.kill('SIGTERM');
    expect(await exitReport(first)).toMatch(/^exit 0\n/);

    const second = startServer(env);
    await waitForOutput(second.output, 'Press Ctrl-C to stop.');
    expect(await (await fetch(`${base}/privacy`)).text()).toContain('Version 1.0');
    second.child.kill('SIGINT');
    expect(await exitReport(second)).toMatch(/^exit 0\n/);
    expect(second.output()).not.toContain('db.seeded_demo');
  }, 60000);

  it('with DATABASE_URL uses that server, runs the worker, and on SIGTERM finishes and exits 0', async () => {
    const t = await createTestDatabase();
    const port = String(await freePort());
    const server = startServer({
      DATABASE_URL: t.url,
      SMTP_URL: 'smtp://127.0.0.1:9',
      PORT: port,
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'assent-ext-')),
    });
    await waitForOutput(server.output, 'Press Ctrl-C to stop.');
    expect(server.output()).toContain('Database:      DATABASE_URL');
    expect(server.output()).toContain('Worker:        in this process');
    const health = await fetch(`http://localhost:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', database: 'ok', worker: { status: 'running' } });
    expect((await fetch(`http://localhost:${port}/dev/mail`)).status).toBe(404);
    server.child.kill('SIGTERM');
    expect(await exitReport(server)).toMatch(/^exit 0\n/);
    expect(await t.db('policy_versions').count({ n: '*' })).toEqual([{ n: 0 }]);
    await t.drop();
  }, 60000);
});
