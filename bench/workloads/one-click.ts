import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Links } from '../../src/shared/links.js';
import { createLogger } from '../../src/shared/logger.js';
import { captureStatements, describeStatements } from '../capture.js';
import { benchDatabase } from '../database.js';
import type { BenchOptions, Round, Workload, WorkloadResult } from '../harness.js';
import { runLoad, type LoadRequest } from '../load.js';
import { havePgbench, pgbenchScript, runBarePool, runPgbench, writeScript } from '../pgbench.js';
import { BENCH_BASE_URL, BENCH_SECRET, HTTPS_PROXIED, startApp } from '../processes.js';
import { MEMBER_UUID_SQL, memberUuid, seedMembersOptedIn } from '../seed.js';

const CONCURRENCIES = [16, 64];
/** The app's knex pool in the benchmark (DATABASE_POOL_MAX). */
const POOL_MAX = 16;

/**
 * RFC 8058 one-click unsubscribe (C4): every request opts a member out of one topic it was opted
 * in to, so each one writes a ledger event and queues a confirmation e-mail. The ceiling is
 * pgbench running the very statements the app sent for one such request (captured from knex),
 * on other members of the same database, at the same concurrency.
 */
const oneClick: Workload = {
  name: 'one-click',
  async run(options: BenchOptions): Promise<WorkloadResult[]> {
    const seconds = options.quick ? 3 : 10;
    const appMembers = options.quick ? 10_000 : 30_000;
    const ceilingMembers = 5_000;
    const logger = createLogger('warn');
    const database = await benchDatabase('oneclick', logger);
    const tmp = mkdtempSync(path.join(tmpdir(), 'assent-bench-'));
    const { topicIds } = await seedMembersOptedIn(database.db, appMembers + ceilingMembers);
    const links = new Links(BENCH_BASE_URL, [BENCH_SECRET]);
    const onePost = (member: number, topic: number): LoadRequest => ({
      method: 'POST',
      path: new URL(links.unsubscribe(memberUuid(member), topic).url).pathname,
      headers: { ...HTTPS_PROXIED, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });

    // The statements of one real request, by a ceiling member (who is then opted out of that topic).
    const captured = await captureStatements(database.url, onePost(appMembers + 1, topicIds[0]!));
    if (captured.status !== 200) throw new Error(`one-click answered ${captured.status}: ${captured.body}`);
    const script = pgbenchScript(captured.queries, {
      id: memberUuid(appMembers + 1),
      sql: MEMBER_UUID_SQL,
      first: appMembers + 1,
      last: appMembers + ceilingMembers,
    });
    const scriptFile = writeScript(path.join(tmp, 'one-click.sql'), script);
    const pgbench = havePgbench();

    // Every (member, topic) pair is used once: members vary fastest, so no two requests in a row wait on one member's lock.
    const pairs: [number, number][] = [];
    for (const t of topicIds) for (let m = 1; m <= appMembers; m++) pairs.push([m, t]);
    let nextPair = 0;
    const next = () => {
      const pair = pairs[nextPair++];
      return pair ? onePost(pair[0], pair[1]) : undefined;
    };

    const app = await startApp(database.url, { DATABASE_POOL_MAX: String(POOL_MAX) });
    const results: WorkloadResult[] = [];
    let sent = 0;
    let errors = 0;
    try {
      const warm = await runLoad({ port: app.port, connections: 16, durationMs: 1500, next, expectStatus: 200 });
      sent += warm.requests;
      errors += warm.errors;
      for (const connections of CONCURRENCIES) {
        const rounds: Round[] = [];
        const notes: string[] = [];
        for (let round = 0; round < options.rounds; round++) {
          const ceiling = pgbench
            ? await runPgbench(database.url, scriptFile, connections, seconds)
            : await runBarePool(database.url, script, connections, seconds);
          const load = await runLoad({ port: app.port, connections, durationMs: seconds * 1000, next, expectStatus: 200 });
          sent += load.requests;
          errors += load.errors;
          if (load.errors) notes.push(`round ${round + 1}: ${load.errors} errors, first: ${load.firstError}`);
          if (ceiling.failed) notes.push(`round ${round + 1}: the ceiling had ${ceiling.failed} failed transactions`);
          rounds.push({
            ceiling: ceiling.perSecond,
            app: load.perSecond,
            appP50: load.p50,
            appP99: load.p99,
            ceilingMeanMs: ceiling.meanMs,
          });
        }
        const p99 = rounds.map((r) => r.appP99!).sort((a, b) => a - b)[Math.floor(rounds.length / 2)]!;
        const mean = rounds.map((r) => r.ceilingMeanMs!).sort((a, b) => a - b)[Math.floor(rounds.length / 2)]!;
        notes.push(`p99 ÷ ceiling mean latency ${(p99 / mean).toFixed(1)} (target ≤ 3)`);
        results.push({
          workload: `one-click unsubscribe, ${connections} connections`,
          ceiling: pgbench ? "pgbench, the app's own statements" : "bare pg pool, the app's own statements",
          unit: 'req/s',
          target: 0.5,
          rounds,
          notes,
        });
      }
    } finally {
      await app.stop();
    }

    // C14 under load: each request that was answered wrote exactly one ledger event and queued one e-mail.
    const appRange = (column: string) => `${column} BETWEEN '${memberUuid(1)}' AND '${memberUuid(appMembers)}'`;
    const events = Number(
      (await database.db.raw(`SELECT count(*) AS n FROM consent_ledger WHERE source = 'one_click' AND ${appRange('member_id')}`)).rows[0].n,
    );
    const emails = Number((await database.db.raw(`SELECT count(*) AS n FROM email_messages WHERE ${appRange('member_id')}`)).rows[0].n);
    const jobs = Number(
      (await database.db.raw(`SELECT count(*) AS n FROM graphile_worker.jobs WHERE task_identifier = 'send_email'`)).rows[0].n,
    );
    const ok = sent - errors;
    const check = `${ok.toLocaleString('en-GB')} answered requests (warm-up included), ${events.toLocaleString('en-GB')} ledger events, ${emails.toLocaleString('en-GB')} confirmation e-mails: ${
      events === ok && emails === ok ? 'one each' : 'NOT one each'
    }${errors ? `; ${errors} errors` : ''}${nextPair > pairs.length ? '; ran out of opted-in members' : ''}`;
    results[0]!.notes = [
      check,
      `${captured.queries.length} statements per request: ${describeStatements(captured.queries)}`,
      `send jobs queued in all (app and ceiling): ${jobs.toLocaleString('en-GB')}`,
      ...(results[0]!.notes ?? []),
    ];
    await database.drop();
    rmSync(tmp, { recursive: true, force: true });
    return results;
  },
};

export default oneClick;
