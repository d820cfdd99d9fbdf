import { createServer, type Server } from 'node:http';
import { BrandingCache } from '../../src/branding/branding.service.js';
import type { Express } from 'express';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Db } from '../../src/db.js';
import { createMailer, type Mailer } from '../../src/mail/mailer.js';
import type { OutboxOptions } from '../../src/mail/outbox.js';
import type { JobWorker } from '../../src/mail/worker.js';
import type { Logger } from '../../src/shared/logger.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { capturingLogger } from './logs.js';
import { startSmtpSink, type SmtpSink } from './smtp.js';

export const TEST_SECRET = 'test-secret-key-0123456789abcdefghijklmnop';

export interface TestContext {
  config: Config;
  db: Db;
  database: TestDatabase;
  app: Express;
  /**
   * The app listening on loopback for the whole file: give this to supertest (`request(ctx.http)`),
   * which otherwise opens and closes a server of its own for every request.
   */
  http: Server;
  smtp: SmtpSink;
  mailer: Mailer;
  outbox: OutboxOptions;
  logger: Logger;
  /** Every log line written during the test file, as parsed JSON. */
  logLines: Record<string, unknown>[];
  startWorker(): Promise<JobWorker>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The whole app against a fresh database and a real SMTP server, as server.ts wires it, with
 * logs captured so tests can check what is (not) written. The worker starts on demand.
 */
export async function startTestContext(env: Record<string, string> = {}): Promise<TestContext> {
  const database = await createTestDatabase();
  const smtp = await startSmtpSink();
  const config = loadConfig({
    NODE_ENV: 'test',
    BASE_URL: 'http://assent.test',
    SECRET_KEYS: TEST_SECRET,
    DATABASE_URL: database.url,
    SMTP_URL: smtp.url,
    ORG_NAME: 'Test Society',
    PRIVACY_CONTACT: 'privacy@assent.test',
    MAIL_MAX_ATTEMPTS: '3',
    ...env,
  });
  const { logger, lines: logLines } = capturingLogger();
  const sessionPool = new pg.Pool({ connectionString: database.url, max: 2 });
  // As in production (deps.ts): an idle connection the server ends is logged, not a crash.
  sessionPool.on('error', (err) => logger.warn({ event: 'db.session_pool_error', err: err.message }));
  const mailer = createMailer(smtp.url, { devCatcher: true, dkim: config.dkim });
  const app = buildApp({ config, db: database.db, logger, sessionPool });
  const outbox = { messageIdHost: 'assent.test', maxAttempts: config.mailMaxAttempts };
  const http = createServer(app);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  let runner: JobWorker | undefined;

  const ctx: TestContext = {
    config,
    db: database.db,
    database,
    app,
    http,
    smtp,
    mailer,
    outbox,
    logger,
    logLines,
    async startWorker() {
      // Loaded here: graphile-worker and every task are parsed only by the files that run jobs.
      const [{ addressRefusedHook, CRONTAB, jobTasks }, { startWorker }] = await Promise.all([
        import('../../src/jobs.js'),
        import('../../src/mail/worker.js'),
      ]);
      // As deps.ts's startJobRunner: one branding cache, read before the first job, for building and sending.
      const brand = new BrandingCache(database.db);
      await brand.refresh();
      runner = await startWorker({
        brand,
        connectionString: database.url,
        config,
        db: database.db,
        mailer,
        mailFrom: config.mailFrom,
        logger,
        concurrency: 2,
        pollInterval: 200,
        tasks: jobTasks(config, database.db, logger, brand),
        addressRefused: addressRefusedHook(config, database.db),
        crontab: CRONTAB,
      });
      return runner;
    },
    async stopWorker() {
      await runner?.stop();
      runner = undefined;
    },
    async close() {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
      await ctx.stopWorker();
      mailer.close();
      await sessionPool.end();
      await smtp.close();
      await database.drop();
    },
  };
  return ctx;
}
