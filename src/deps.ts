import path from 'node:path';
import pg from 'pg';
import type { Config } from './config.js';
import { ACQUIRE_TIMEOUT_MS, createDb, type Db } from './db.js';
import { startEmbeddedPostgres } from './embedded/postgres.js';
import { startMailCatcher } from './mail/catcher.js';
import { createMailer, type Mailer } from './mail/mailer.js';
import type { OutboxOptions } from './mail/outbox.js';
import { BrandingCache } from './branding/branding.service.js';
import { addressRefusedHook, CRONTAB, jobTasks } from './jobs.js';
import { startWorker, type JobWorker } from './mail/worker.js';
import { DatabaseWatch, isDatabaseUnavailable } from './shared/db-watch.js';
import { pgSessionOptions } from './shared/pg-session.js';
import { migrateDatabase, seedDatabase } from './shared/migrate.js';
import type { Logger } from './shared/logger.js';

/**
 * Everything a process needs besides its HTTP app or job runner: the database (the embedded
 * one when DATABASE_URL is not set), the mailer (the development catcher when SMTP_URL is not
 * set), and a stop() that releases them in reverse order.
 */
export interface Runtime {
  config: Config;
  logger: Logger;
  db: Db;
  databaseUrl: string;
  sessionPool: pg.Pool;
  mailer: Mailer;
  outbox: OutboxOptions;
  /** Set when the development mail catcher keeps mail here. */
  devMailDir: string | undefined;
  embeddedDatabase: boolean;
  /** Notices when the database is unreachable and when it answers again (logged once per outage). */
  watch: DatabaseWatch;
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/**
 * The development database: the embedded PostgreSQL under DATA_DIR/pg, database `assent`. If another
 * process of this checkout (npm start, npm run worker, a CLI) already runs it, it is shared and left
 * running: stop() then does nothing.
 */
export async function startDevelopmentDatabase(config: Config, logger: Logger): Promise<{ url: string; stop(): Promise<void> }> {
  const url = `postgres://postgres:postgres@127.0.0.1:${config.embeddedPgPort}/assent`;
  if (await answers(url)) return { url, stop: async () => {} };
  return startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'pg'), port: config.embeddedPgPort, database: 'assent', logger });
}

/**
 * The job runner of a process (npm start, or npm run worker). The features' jobs build messages
 * and the send task sends them with one branding cache, read before the first job runs.
 */
export async function startJobRunner(rt: Runtime): Promise<JobWorker> {
  const brand = new BrandingCache(rt.db);
  await brand.refresh();
  return startWorker({
    watch: rt.watch,
    connectionString: rt.databaseUrl,
    config: rt.config,
    db: rt.db,
    mailer: rt.mailer,
    mailFrom: rt.config.mailFrom,
    logger: rt.logger,
    concurrency: rt.config.workerConcurrency,
    brand,
    tasks: jobTasks(rt.config, rt.db, rt.logger, brand),
    addressRefused: addressRefusedHook(rt.config, rt.db),
    crontab: CRONTAB,
  });
}

export async function startRuntime(config: Config, logger: Logger, watch = new DatabaseWatch(logger)): Promise<Runtime> {
  const stops: (() => Promise<void>)[] = [];
  let databaseUrl = config.databaseUrl;
  const embeddedDatabase = databaseUrl === undefined;
  if (databaseUrl === undefined) {
    const embedded = await startDevelopmentDatabase(config, logger);
    databaseUrl = embedded.url;
    stops.push(embedded.stop);
  }

  const db = createDb(databaseUrl, logger, config.databasePoolMax, watch, config.databaseSession);
  stops.push(() => db.destroy());
  watch.setProbe(() => db.raw('SELECT 1'));
  const applied = await migrateDatabase(db, databaseUrl, logger);
  if (applied.length) logger.info({ event: 'db.migrated', migrations: applied.length });
  if (config.seedDemo && !(await db('policy_versions').first('id'))) {
    await seedDatabase(db);
    logger.info({ event: 'db.seeded_demo' });
  }

  const sessionPool = new pg.Pool({
    connectionString: databaseUrl,
    max: 4,
    connectionTimeoutMillis: ACQUIRE_TIMEOUT_MS,
    ...pgSessionOptions(config.databaseSession),
  });
  sessionPool.on('error', (err) => {
    if (isDatabaseUnavailable(err)) watch.unreachable('session pool', err);
    else logger.error({ event: 'db.session_pool_error', err: err.message });
  });
  stops.push(() => sessionPool.end());

  let smtpUrl = config.smtpUrl;
  let devMailDir: string | undefined;
  if (smtpUrl === undefined) {
    devMailDir = path.join(config.dataDir, 'mail');
    const catcher = await startMailCatcher(devMailDir, logger);
    smtpUrl = catcher.smtpUrl;
    stops.push(catcher.stop);
  }
  const mailer = createMailer(smtpUrl, {
    devCatcher: devMailDir !== undefined,
    dkim: config.dkim,
    maxConnections: config.smtpMaxConnections,
    timeoutMs: config.smtpTimeoutSeconds * 1000,
  });
  stops.push(async () => mailer.close());

  return {
    config,
    logger,
    db,
    databaseUrl,
    sessionPool,
    mailer,
    outbox: { messageIdHost: new URL(config.baseUrl).hostname, maxAttempts: config.mailMaxAttempts },
    devMailDir,
    embeddedDatabase,
    watch,
    async stop() {
      watch.close();
      for (const stop of stops.reverse()) {
        try {
          await stop();
        } catch (err) {
          logger.warn({ event: 'shutdown.step_failed', err: String(err) });
        }
      }
    },
  };
}
