import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { preferencesPage } from '../../src/consent/consent.service.js';
import { makeServiceContext } from '../../src/context.js';
import { Links } from '../../src/shared/links.js';
import { createLogger } from '../../src/shared/logger.js';
import { captureStatements, describeStatements } from '../capture.js';
import { benchDatabase } from '../database.js';
import type { BenchOptions, Round, Workload, WorkloadResult } from '../harness.js';
import { runLoad, type LoadRequest } from '../load.js';
import { BENCH_BASE_URL, BENCH_SECRET, cpuMs, HTTPS_PROXIED, startApp, startNode } from '../processes.js';
import { memberUuid, seedMembersOptedIn } from '../seed.js';

const CONNECTIONS = 16;

/**
 * GET /p/:token, the preference page from an e-mail link, without cookies (C9). The ceiling is a
 * bare Express 5 app (bench/bare-preference.ts, its own process) rendering the same view from
 * the data the app read for one member.
 */
const preferencePage: Workload = {
  name: 'preference-page',
  async run(options: BenchOptions): Promise<WorkloadResult[]> {
    const seconds = options.quick ? 3 : 10;
    const members = 2_000;
    const logger = createLogger('warn');
    const database = await benchDatabase('prefpage', logger);
    const tmp = mkdtempSync(path.join(tmpdir(), 'assent-bench-'));
    await seedMembersOptedIn(database.db, members);
    const links = new Links(BENCH_BASE_URL, [BENCH_SECRET]);
    const paths = Array.from({ length: members }, (_x, i) => new URL(links.manage(memberUuid(i + 1))).pathname);
    let n = 0;
    const next = (): LoadRequest => ({ method: 'GET', path: paths[n++ % paths.length]!, headers: HTTPS_PROXIED });

    // The fixed data: what the app reads for member 1, with the locals every page gets.
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: database.url, SECRET_KEYS: BENCH_SECRET, BASE_URL: BENCH_BASE_URL });
    const svc = makeServiceContext(config, database.db);
    const page = await preferencesPage(svc, memberUuid(1));
    const fixed = {
      title: 'What we send you',
      ...page,
      sent: [...page.sent.entries()],
      viaLink: true,
      orgName: config.orgName,
      brand: await svc.brand.refresh(),
      privacyContact: config.privacyContact,
      currentPath: paths[0],
      showDevMail: false,
      signedIn: false,
    };
    const localsFile = path.join(tmp, 'preference-locals.json');
    writeFileSync(localsFile, JSON.stringify(fixed));

    const captured = await captureStatements(database.url, next());
    if (captured.status !== 200) throw new Error(`the preference page answered ${captured.status}`);
    const bare = await startNode('bench/bare-preference.ts', { NODE_ENV: 'production' }, 'bare preference page ready', [localsFile]);
    // The floor: the same bare render after the page's own statement (one round trip, as the app's).
    if (captured.queries.length !== 1) throw new Error(`the preference page sent ${captured.queries.length} statements, not 1`);
    const statementFile = path.join(tmp, 'preference-statement.json');
    writeFileSync(statementFile, JSON.stringify(captured.queries[0]));
    const bareWithQuery = await startNode(
      'bench/bare-preference.ts',
      { NODE_ENV: 'production', DATABASE_URL: database.url },
      'bare preference page ready',
      [localsFile, statementFile],
    );
    const app = await startApp(database.url);
    const rounds: Round[] = [];
    const floor: Round[] = [];
    const notes: string[] = [`${captured.queries.length} statements per request: ${describeStatements(captured.queries)}`];
    // CPU per request of the bare render and of the app, by round: steadier than requests per second.
    const perRequest: [string, string][] = [];
    const perRequestUs = (pid: number, before: number | undefined, requests: number) => {
      const after = cpuMs(pid);
      return before === undefined || after === undefined ? '?' : String(Math.round(((after - before) * 1000) / requests));
    };
    try {
      await runLoad({ port: bare.port, connections: CONNECTIONS, durationMs: 1000, next, expectStatus: 200 });
      await runLoad({ port: app.port, connections: CONNECTIONS, durationMs: 1500, next, expectStatus: 200 });
      await runLoad({ port: bareWithQuery.port, connections: CONNECTIONS, durationMs: 1000, next, expectStatus: 200 });
      for (let round = 0; round < options.rounds; round++) {
        const bareCpu = cpuMs(bare.pid);
        const ceiling = await runLoad({ port: bare.port, connections: CONNECTIONS, durationMs: seconds * 1000, next, expectStatus: 200 });
        const appCpu = cpuMs(app.pid);
        const load = await runLoad({ port: app.port, connections: CONNECTIONS, durationMs: seconds * 1000, next, expectStatus: 200 });
        perRequest.push([perRequestUs(bare.pid, bareCpu, ceiling.requests), perRequestUs(app.pid, appCpu, load.requests)]);
        const withQuery = await runLoad({
          port: bareWithQuery.port,
          connections: CONNECTIONS,
          durationMs: seconds * 1000,
          next,
          expectStatus: 200,
        });
        floor.push({ ceiling: ceiling.perSecond, app: withQuery.perSecond });
        if (load.errors) notes.push(`round ${round + 1}: ${load.errors} errors, first: ${load.firstError}`);
        if (ceiling.errors) notes.push(`round ${round + 1}: the bare render had ${ceiling.errors} errors, first: ${ceiling.firstError}`);
        rounds.push({ ceiling: ceiling.perSecond, app: load.perSecond, appP50: load.p50, appP99: load.p99, ceilingMeanMs: ceiling.meanMs });
      }
    } finally {
      await app.stop();
      await bare.stop();
      await bareWithQuery.stop();
    }
    notes.push(`CPU per request, µs, bare render / app, by round: ${perRequest.map(([b, a]) => `${b} / ${a}`).join(', ')}`);
    await database.drop();
    rmSync(tmp, { recursive: true, force: true });
    return [
      {
        workload: `preference page GET /p/:token, ${CONNECTIONS} connections`,
        ceiling: 'bare Express 5 rendering the same view from fixed data',
        unit: 'req/s',
        target: 0.5,
        rounds,
        notes,
      },
      {
        workload: `(the floor) the same bare render after the page's one statement through a bare pg pool, ${CONNECTIONS} connections`,
        ceiling: 'bare Express 5 rendering the same view from fixed data',
        unit: 'req/s',
        rounds: floor,
        notes: ['what the page can reach at most with its one round trip to PostgreSQL: the app ÷ this floor is what the app adds'],
      },
    ];
  },
};

export default preferencePage;
