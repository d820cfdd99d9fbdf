import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { nodeArgs } from '../helpers/processes.js';

const run = (kind: string) =>
  promisify(execFile)(process.execPath, nodeArgs('test/helpers/unhandled.ts', kind)).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe('the process-level handlers', () => {
  it('an unhandled rejection that only says the database went away is logged once and the process lives on', async () => {
    const r = await run('database');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"event":"db.unreachable"');
    expect(r.stdout).toContain('still running');
  });

  it('any other unhandled rejection is logged with its stack and ends the process with code 1 and a plain line', async () => {
    const r = await run('bug');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('"event":"process.unhandled_rejection"');
    expect(r.stdout).toContain('a bug nobody caught');
    expect(r.stdout).toMatch(/"stack":"Error: a bug nobody caught/);
    expect(r.stderr).toBe('Assent stopped: unhandled rejection: a bug nobody caught\n');
    expect(r.stdout).not.toContain('still running');
  });
});
