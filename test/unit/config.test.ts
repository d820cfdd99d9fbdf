import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config.js';

const key = 'k'.repeat(32);
const prod = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://u:p@db:5432/assent',
  SMTP_URL: 'smtp://mail:587',
  SECRET_KEYS: key,
  BASE_URL: 'https://members.example.org',
  ORG_ADDRESS: '1 Society Street, Exampletown EX1 2AB',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration is validated once, at boot', () => {
  it('starts with defaults in development, generating a secret key kept under DATA_DIR', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'assent-cfg-'));
    const c = loadConfig({ DATA_DIR: dir });
    expect(c).toMatchObject({
      env: 'development',
      port: 3000,
      baseUrl: 'http://localhost:3000',
      databaseUrl: undefined,
      smtpUrl: undefined,
      seedDemo: true,
      orgTimeZone: 'UTC',
    });
    expect(c.secretKeys[0]).toBe(readFileSync(path.join(dir, 'secret-keys'), 'utf8'));
    expect(loadConfig({ DATA_DIR: dir }).secretKeys).toEqual(c.secretKeys);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('gives one clear line per bad variable', () => {
    expect(
      problems({ PORT: 'eighty', DATABASE_URL: 'mysql://x', PRIVACY_CONTACT: 'nobody', NODE_ENV: 'staging', ORG_TIMEZONE: 'Mars/Olympus' }),
    ).toEqual(
      expect.arrayContaining([
        'ORG_TIMEZONE must be a time zone name such as Europe/London or UTC',
        'PORT must be a whole number',
        'DATABASE_URL must be a URL starting with postgres:// or postgresql://',
        'PRIVACY_CONTACT must be an e-mail address',
        'NODE_ENV must be development, test or production',
      ]),
    );
  });

  it('refuses to start in production without DATABASE_URL, SMTP_URL, SECRET_KEYS and an https BASE_URL', () => {
    expect(problems({ NODE_ENV: 'production' })).toEqual([
      'DATABASE_URL must be set in production (postgres://user:password@host:5432/db)',
      'SMTP_URL must be set in production (smtp://user:password@host:587)',
      'SECRET_KEYS must be set in production (comma-separated, 32+ random characters each)',
      'BASE_URL must be set in production (the public https:// origin)',
      "ORG_ADDRESS must be set in production (the organisation's postal address, shown in every bulletin)",
    ]);
    expect(problems({ ...prod, BASE_URL: 'http://members.example.org' })).toEqual(['BASE_URL must start with https:// in production']);
    expect(problems({ ...prod, SECRET_KEYS: `${key},short` })).toEqual(['SECRET_KEYS each key must be at least 32 characters long']);
  });

  it('accepts a complete production configuration, with rotating keys in order', () => {
    const c = loadConfig({ ...prod, SECRET_KEYS: `${'n'.repeat(40)}, ${key}`, TRUST_PROXY: '1', BASE_URL: 'https://members.example.org/' });
    expect(c.isProduction).toBe(true);
    expect(c.secretKeys).toEqual(['n'.repeat(40), key]);
    expect(c.trustProxy).toBe(1);
    expect(c.baseUrl).toBe('https://members.example.org');
    expect(c.seedDemo).toBe(false);
    expect(c.mailFrom).toBe('"Demo Society" <no-reply@members.example.org>');
  });

  it('a dead worker is noticed within about a minute by default; the stale period must leave room for beats', () => {
    const c = loadConfig(prod);
    expect(c.workerHeartbeatSeconds).toBe(10);
    expect(c.workerStaleSeconds).toBe(60);
    expect(c.workerStaleSeconds + c.workerHeartbeatSeconds).toBeLessThanOrEqual(120);
    expect(loadConfig({ ...prod, WORKER_HEARTBEAT_SECONDS: '1', WORKER_STALE_SECONDS: '3' })).toMatchObject({
      workerHeartbeatSeconds: 1,
      workerStaleSeconds: 3,
    });
    expect(problems({ ...prod, WORKER_HEARTBEAT_SECONDS: '10', WORKER_STALE_SECONDS: '20' })).toEqual([
      'WORKER_STALE_SECONDS must be more than twice WORKER_HEARTBEAT_SECONDS, or a live worker could be taken for dead',
    ]);
    expect(problems({ ...prod, WORKER_HEARTBEAT_SECONDS: '0' })).toEqual(['WORKER_HEARTBEAT_SECONDS must be at least 1']);
  });

  it('a runner claims twice its concurrency of jobs at once unless told otherwise; 0 claims one at a time', () => {
    expect(loadConfig(prod).workerLocalQueue).toBe(2 * loadConfig(prod).workerConcurrency);
    expect(loadConfig({ ...prod, WORKER_CONCURRENCY: '16' }).workerLocalQueue).toBe(32);
    expect(loadConfig({ ...prod, WORKER_LOCAL_QUEUE: '0' }).workerLocalQueue).toBe(0);
  });

  it('a dead session’s locks are released before a dead worker’s job runs again: the idle-in-transaction timeout is under the stale period', () => {
    const c = loadConfig(prod);
    expect(c.databaseSession).toEqual({ idleInTransactionSeconds: 30, keepAliveSeconds: 10 });
    expect(c.databaseSession.idleInTransactionSeconds).toBeLessThan(c.workerStaleSeconds);
    expect(loadConfig({ ...prod, DATABASE_IDLE_IN_TRANSACTION_SECONDS: '0' }).databaseSession.idleInTransactionSeconds).toBe(0);
    expect(problems({ ...prod, DATABASE_KEEPALIVE_SECONDS: '0' })).toEqual(['DATABASE_KEEPALIVE_SECONDS must be at least 1']);
  });

  it('a send to a hung SMTP server gives up before the shutdown grace runs out', () => {
    const c = loadConfig(prod);
    expect(c.shutdownGraceSeconds).toBe(15);
    expect(c.smtpTimeoutSeconds).toBe(10);
    expect(loadConfig({ ...prod, SHUTDOWN_GRACE_SECONDS: '6', SMTP_TIMEOUT_SECONDS: '2' })).toMatchObject({
      shutdownGraceSeconds: 6,
      smtpTimeoutSeconds: 2,
    });
    expect(problems({ ...prod, SHUTDOWN_GRACE_SECONDS: '10' })).toEqual([
      'SMTP_TIMEOUT_SECONDS must be less than SHUTDOWN_GRACE_SECONDS, or a send to a hung SMTP server could outlast the shutdown',
    ]);
  });
});
