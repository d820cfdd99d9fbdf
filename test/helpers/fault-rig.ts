import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import type { Db } from '../../src/db.js';
import { makeServiceContext } from '../../src/context.js';
import { TEST_SECRET } from './app.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { startProcess, startWebProcess, type AppProcess } from './processes.js';
import { startSmtpSink, type SmtpSink } from './smtp.js';

/** The fault tests' worker heartbeat: every second, taken for dead after three (defaults: 10 s, 60 s). */
export const HEARTBEAT_S = 1;
export const STALE_S = 3;

/**
 * What the fault tests share: a real SMTP server, Assent processes started as `npm start` and
 * `npm run worker` are, and test databases; close() stops and removes all of them.
 */
export interface FaultRig {
  smtp: SmtpSink;
  env(databaseUrl: string, extra?: Record<string, string>): Record<string, string>;
  database(): Promise<TestDatabase>;
  worker(databaseUrl: string, extra?: Record<string, string>): Promise<AppProcess>;
  web(databaseUrl: string, extra?: Record<string, string>): Promise<{ web: AppProcess; origin: string }>;
  /** Each member's one-click unsubscribe path ("all"), signed as those processes sign it. */
  oneClickLinks(databaseUrl: string, db: Db, memberIds: string[]): { memberId: string; path: string }[];
  close(): Promise<void>;
}

export async function startFaultRig(): Promise<FaultRig> {
  const smtp = await startSmtpSink();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'assent-fault-'));
  const databases: TestDatabase[] = [];
  const processes: AppProcess[] = [];
  const env = (databaseUrl: string, extra: Record<string, string> = {}) => ({
    DATABASE_URL: databaseUrl,
    SMTP_URL: smtp.url,
    SECRET_KEYS: TEST_SECRET,
    BASE_URL: 'http://assent.test',
    DATA_DIR: dataDir,
    WORKER_CONCURRENCY: '4',
    WORKER_HEARTBEAT_SECONDS: String(HEARTBEAT_S),
    WORKER_STALE_SECONDS: String(STALE_S),
    ...extra,
  });
  return {
    smtp,
    env,
    async database() {
      const d = await createTestDatabase();
      databases.push(d);
      return d;
    },
    async worker(databaseUrl, extra) {
      const p = startProcess('src/worker.ts', env(databaseUrl, extra));
      processes.push(p);
      await p.waitForLog((l) => l.event === 'worker.started', 'the worker to start');
      return p;
    },
    async web(databaseUrl, extra) {
      const started = await startWebProcess(env(databaseUrl, extra));
      processes.push(started.web);
      return started;
    },
    oneClickLinks(databaseUrl, db, memberIds) {
      const svc = makeServiceContext(loadConfig(env(databaseUrl)), db);
      return memberIds.map((memberId) => ({ memberId, path: new URL(svc.links.unsubscribe(memberId, 'all').url).pathname }));
    },
    async close() {
      await Promise.all(processes.map((p) => p.stop()));
      await smtp.close();
      for (const d of databases) await d.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
