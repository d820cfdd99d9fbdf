import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { verifyPassword } from '../../src/auth/passwords.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { nodeArgs } from '../helpers/processes.js';

/**
 * `npm run staff:create` without STAFF_PASSWORD asks for the password in the terminal and does not
 * echo it (C11). A real pseudo-terminal comes from util-linux `script`, so the CLI sees a TTY.
 */
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

function runInTerminal(args: string[], typed: string): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, ...nodeArgs('src/cli/staff.ts', 'create', ...args)].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', DATABASE_URL: t.url, LOG_LEVEL: 'warn' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
    if (output.includes('Password (at least 12 characters):') && typed) {
      child.stdin.write(`${typed}\r`);
      typed = '';
    }
  });
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

describe('staff:create in a terminal', () => {
  it('C11: asks for the password without echoing it, and stores only its argon2id hash', async () => {
    const password = 'typed at the hidden prompt';
    const run = await runInTerminal(['--email', 'prompted@example.org', '--name', 'Prompted Admin', '--role', 'support'], password);
    expect(run.output).toContain('Password (at least 12 characters):');
    expect(run.output).toContain('Created support prompted@example.org');
    expect(run.output).not.toContain(password);
    expect(run.code).toBe(0);
    const row = (await t.db('staff_users').where({ email: 'prompted@example.org' }).first('password_hash')) as { password_hash: string };
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(row.password_hash, password)).toBe(true);
  }, 30000);
});
