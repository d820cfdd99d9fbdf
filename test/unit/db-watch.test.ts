import { describe, expect, it } from '@jest/globals';
import { DatabaseWatch, isDatabaseUnavailable, untilDatabaseAnswers } from '../../src/shared/db-watch.js';
import { capturingLogger } from '../helpers/logs.js';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('telling "the database is away" from "the query is wrong"', () => {
  it('counts connection refusals, resets, shutdowns, connection-class SQLSTATEs and pool timeouts as the database being away', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', '57P01', '57P02', '57P03', '08006', '08001', '53300']) {
      expect(isDatabaseUnavailable(pgError(code))).toBe(true);
    }
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(
      isDatabaseUnavailable(
        Object.assign(new Error('Knex: Timeout acquiring a connection. The pool is probably full.'), { name: 'KnexTimeoutError' }),
      ),
    ).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([pgError('ECONNREFUSED')], 'connect failed'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: pgError('57P01') }))).toBe(true);
    expect(isDatabaseUnavailable('Acquire connection error: Error: connect ECONNREFUSED 127.0.0.1:5432')).toBe(true);
    // A runner replaced during an outage could not hand its claimed jobs back (graphile-worker's text).
    const returning = new Error(
      'Error occurred whilst returning jobs from local queue to database queue: connect ECONNRESET 127.0.0.1:39675',
    );
    expect(isDatabaseUnavailable(returning)).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([returning], 'Errors occurred whilst deactivating queue'))).toBe(true);
  });

  it('does not count a broken rule, a bad query, or an SMTP server refusing the connection', () => {
    expect(isDatabaseUnavailable(pgError('23505', 'duplicate key value'))).toBe(false);
    expect(isDatabaseUnavailable(pgError('42P01', 'relation "nope" does not exist'))).toBe(false);
    expect(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), { code: 'ESOCKET' }))).toBe(false);
    expect(isDatabaseUnavailable(new Error('a bug'))).toBe(false);
    expect(isDatabaseUnavailable(new Error('Error occurred whilst returning jobs from local queue to database queue: syntax error'))).toBe(
      false,
    );
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});

describe('the database watch', () => {
  it('logs an outage once however many report it, probes until the database answers, then logs that once', async () => {
    const { logger, lines } = capturingLogger('debug');
    let up = false;
    const watch = new DatabaseWatch(logger, 20);
    watch.setProbe(async () => {
      if (!up) throw pgError('ECONNREFUSED');
    });
    for (let i = 0; i < 50; i++) watch.unreachable('job', pgError('ECONNREFUSED'));
    expect(watch.reachable).toBe(false);
    const back = watch.whenReachable();
    await new Promise((r) => setTimeout(r, 100));
    expect(watch.reachable).toBe(false);
    up = true;
    await back;
    expect(watch.reachable).toBe(true);
    expect(lines.filter((l) => (l.level as number) >= 40).map((l) => l.event)).toEqual(['db.unreachable']);
    expect(lines.filter((l) => l.event === 'db.reachable')).toHaveLength(1);
    watch.close();
  });

  it('just after an outage, a failure the database itself contradicts (a connection from before) is not a new outage; a real one is', async () => {
    const { logger, lines } = capturingLogger('debug');
    let up = false;
    const watch = new DatabaseWatch(logger, 20);
    watch.setProbe(async () => {
      if (!up) throw pgError('ECONNREFUSED');
    });
    watch.unreachable('job', pgError('57P01'));
    up = true;
    await watch.whenReachable();
    // A pooled connection from before the restart fails on first use: the probe answers, so no new outage.
    watch.unreachable('job', new Error('Connection terminated unexpectedly'));
    await new Promise((r) => setTimeout(r, 50));
    expect(watch.reachable).toBe(true);
    expect(lines.filter((l) => l.event === 'db.unreachable')).toHaveLength(1);
    expect(lines.filter((l) => l.event === 'db.stale_connection')).toHaveLength(1);
    // The database goes away again for real: the probe fails, and that is a second outage.
    up = false;
    watch.unreachable('job', pgError('ECONNREFUSED'));
    await new Promise((r) => setTimeout(r, 50));
    expect(watch.reachable).toBe(false);
    expect(lines.filter((l) => l.event === 'db.unreachable')).toHaveLength(2);
    up = true;
    await watch.whenReachable();
    watch.close();
  });

  it('once the process is shutting down, a connection that hears the server go is no outage', () => {
    const { logger, lines } = capturingLogger('debug');
    const watch = new DatabaseWatch(logger, 20);
    watch.close();
    // What a pooled connection still closing hears when the embedded PostgreSQL stops last.
    watch.unreachable('worker heartbeat', pgError('57P01', 'terminating connection due to administrator command'));
    expect(watch.reachable).toBe(true);
    expect(lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    expect(lines.filter((l) => l.event === 'db.still_unreachable')).toHaveLength(1);
  });

  it('runs a step again once the database is back, but gives up on a real error at once', async () => {
    const { logger } = capturingLogger('debug');
    const watch = new DatabaseWatch(logger, 20);
    const backAt = Date.now() + 300;
    watch.setProbe(async () => {
      if (Date.now() < backAt) throw pgError('ECONNREFUSED');
    });
    let calls = 0;
    const result = await untilDatabaseAnswers(
      watch,
      async () => {
        calls++;
        if (Date.now() < backAt) throw pgError('57P01');
        return 'done';
      },
      { maxWaitMs: 10000, source: 'test' },
    );
    expect(result).toBe('done');
    expect(Date.now()).toBeGreaterThanOrEqual(backAt);
    // It waited for the database rather than trying in a loop.
    expect(calls).toBeLessThanOrEqual(3);
    await expect(
      untilDatabaseAnswers(watch, () => Promise.reject(pgError('23505')), { maxWaitMs: 10000, source: 'test' }),
    ).rejects.toMatchObject({ code: '23505' });
    watch.close();
  });
});
