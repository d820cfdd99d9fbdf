import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { oneClickBurst } from '../helpers/burst.js';
import { insertPopulation, noticeCounts, noticeRun, publishWithFanout, type Population } from '../helpers/fanout.js';
import { startOwnPostgres, type OwnPostgres } from '../helpers/own-postgres.js';
import { startFaultRig, type FaultRig } from '../helpers/fault-rig.js';
import { eventually, type AppProcess } from '../helpers/processes.js';
import type { SmtpSink } from '../helpers/smtp.js';

/**
 * PostgreSQL is stopped (fast shutdown, as `pg_ctl stop -m fast` or a failover does) for a few
 * seconds while a policy notice fan-out runs and mail providers post one-click unsubscribes.
 * Two real processes ride it out: `npm start` (web with the worker in-process) and a standalone
 * `npm run worker`.
 */
const MEMBERS = 300;
const OUTAGE_MS = 5000;

let pg: OwnPostgres;
let rig: FaultRig;
let smtp: SmtpSink;
let people: Population;

beforeAll(async () => {
  pg = await startOwnPostgres();
  rig = await startFaultRig();
  smtp = rig.smtp;
  people = await insertPopulation(pg.db, MEMBERS);
}, 120000);

afterAll(async () => {
  await rig?.close();
  await pg?.close();
});

describe('PostgreSQL restarted during a fan-out and a one-click burst', () => {
  it('both processes survive, every 200 was recorded with its confirmation, the outage got 503s, and the fan-out finishes', async () => {
    const { web, origin } = await rig.web(pg.url);
    const worker = await rig.worker(pg.url);
    const procs: AppProcess[] = [web, worker];
    try {
      smtp.setDelay(150);
      const versionId = await publishWithFanout(pg.db, 20);
      const burst = oneClickBurst(origin, rig.oneClickLinks(pg.url, pg.db, people.memberIds), 4, 60);
      // A wait that times out says which messages are stuck and what the queue holds.
      const explain = async (err: Error) => {
        const queued = await pg.db('email_messages').where({ status: 'queued' }).select('id', 'kind', 'attempts', 'last_error');
        const { rows: jobs } = await pg.db.raw(
          'SELECT task_identifier, attempts, run_at, locked_by, locked_at, last_error FROM graphile_worker.jobs',
        );
        throw new Error(`${err.message}; queued: ${JSON.stringify(queued)}; jobs: ${JSON.stringify(jobs)}`);
      };

      await eventually(async () => smtp.messages.length >= 40 || undefined, 'the fan-out and the burst to be under way');
      const haltStarted = Date.now();
      await pg.server.halt();
      const haltDone = Date.now();
      const healthDown = await fetch(`${origin}/healthz`);
      const healthDownBody = (await healthDown.json()) as Record<string, unknown>;
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      const resumeStarted = Date.now();
      await pg.server.resume();
      const resumed = Date.now();

      const healthUp = await eventually(async () => {
        const res = await fetch(`${origin}/healthz`);
        return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : undefined;
      }, '/healthz to answer 200 again');
      const healthyAfterMs = Date.now() - resumed;
      // The in-process worker may have had to start a new runner (its old one could not record a
      // job's end): it says so, and is running again moments later.
      const workerUp = await eventually(async () => {
        const res = await fetch(`${origin}/healthz`);
        const body = (await res.json()) as { worker?: { status?: string } };
        return body.worker?.status === 'running' ? body : undefined;
      }, 'the in-process worker to be running again');
      const workerUpAfterMs = Date.now() - resumed;

      await eventually(
        async () => burst.answers.filter((a) => a.startedAt > resumed && a.status === 200).length >= 20 || undefined,
        'one-click answered 200 again after the restart',
      );
      burst.stop();
      const answers = await burst.done;

      // Nothing died.
      expect(web.running()).toBe(true);
      expect(worker.running()).toBe(true);

      // The outage was answered calmly: 503 with Retry-After, never a 500, never no answer.
      expect(healthDown.status).toBe(503);
      expect(healthDownBody).toMatchObject({ status: 'unavailable', database: 'unreachable' });
      expect(healthUp).toMatchObject({ status: 'ok', database: 'ok', worker: { status: expect.stringMatching(/^(running|restarting)$/) } });
      expect(workerUp).toMatchObject({
        status: 'ok',
        database: 'ok',
        worker: { status: 'running', heartbeatAgeSeconds: expect.any(Number) },
      });
      expect(answers.filter((a) => a.status !== 200 && a.status !== 503)).toEqual([]);
      const during = answers.filter((a) => a.startedAt > haltDone && a.endedAt < resumeStarted);
      expect(during.length).toBeGreaterThan(5);
      for (const a of during) {
        expect(a.status).toBe(503);
        expect(Number(a.retryAfter)).toBeGreaterThan(0);
        expect(a.body).toMatch(/try again/i);
      }

      // Every 200 was applied and its confirmation e-mail committed with it (C14).
      const ok = answers.filter((a) => a.status === 200).map((a) => a.memberId);
      expect(ok.length).toBeGreaterThan(10);
      const unsubscribed = new Set(
        (await pg.db('consent_ledger').where({ source: 'one_click' }).distinct('member_id')).map((r: { member_id: string }) => r.member_id),
      );
      const confirmed = new Set(
        (await pg.db('email_messages').where({ kind: 'preferences_changed' }).distinct('member_id')).map(
          (r: { member_id: string }) => r.member_id,
        ),
      );
      for (const memberId of ok) {
        expect(unsubscribed.has(memberId)).toBe(true);
        expect(confirmed.has(memberId)).toBe(true);
      }

      // The fan-out finishes: every member notified, duplicates only for sends cut off mid-way.
      await eventually(async () => (await noticeRun(pg.db, versionId))?.finished_at, 'the notice run to finish', 90000);
      await eventually(
        async () => noticeCounts(smtp).size === MEMBERS || undefined,
        `every member's notice (have ${noticeCounts(smtp).size})`,
        90000,
      ).catch(explain);
      await eventually(
        async () => (await pg.db('email_messages').where({ status: 'queued' }).first()) === undefined,
        'the outbox to drain',
        90000,
      ).catch(explain);
      const duplicates = [...noticeCounts(smtp).values()].filter((n) => n > 1).length;
      expect(duplicates).toBeLessThanOrEqual(8);
      expect(await pg.db('email_messages').where({ status: 'failed' })).toEqual([]);

      // Each process said once that the database went away, and once that it came back: no
      // other warning or error, and none per job or per connection.
      for (const p of procs) {
        expect(
          p
            .logs()
            .filter((l) => (l.level ?? 0) >= 40 && !l.req)
            .map((l) => (l.event === 'db.unreachable' ? l.event : JSON.stringify(l))),
        ).toEqual(['db.unreachable']);
        expect(p.logs().filter((l) => l.event === 'db.unreachable')).toHaveLength(1);
        expect(p.logs().filter((l) => l.event === 'db.reachable')).toHaveLength(1);
      }
      expect(await web.stop()).toBe(0);
      expect(await worker.stop()).toBe(0);
      process.stdout.write(
        `database restart: halt ${haltDone - haltStarted} ms, outage ${resumeStarted - haltDone} ms, restart ${resumed - resumeStarted} ms, ` +
          `/healthz 200 after ${healthyAfterMs} ms, worker running after ${workerUpAfterMs} ms; answers: ${answers.length} (${ok.length} × 200, ${answers.length - ok.length} × 503), ` +
          `${duplicates} duplicate notices\n`,
      );
    } finally {
      for (const p of procs) if (!p.running() && (await p.exited) !== 0) process.stderr.write(`${p.output().slice(-6000)}\n`);
    }
  }, 240000);
});
