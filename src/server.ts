import { buildApp } from './app.js';
import { startJobRunner, startRuntime } from './deps.js';
import type { JobWorker } from './mail/worker.js';
import { bootOrExit, failedToStart, onShutdownSignal } from './shared/boot.js';

const t0 = Date.now();
const { config, logger, watch } = bootOrExit();
const rt = await startRuntime(config, logger, watch).catch((err: unknown) => failedToStart(logger, 'database and mail', err));
let runner: JobWorker | undefined;
const app = buildApp({
  config,
  db: rt.db,
  logger,
  sessionPool: rt.sessionPool,
  devMailDir: rt.devMailDir,
  workerHealth: config.runWorker ? () => runner?.health() ?? { status: 'starting', lastHeartbeatAt: null } : undefined,
});
const server = app.listen(config.port);
await new Promise<void>((resolve, reject) => {
  server.once('listening', resolve);
  server.once('error', reject);
}).catch(async (err: Error) => {
  logger.fatal({ event: 'http.listen_failed', port: config.port, err: err.message });
  await rt.stop();
  process.exit(1);
});

if (config.runWorker) {
  runner = await startJobRunner(rt).catch((err: unknown) => failedToStart(logger, 'job runner', err));
}

logger.info({ event: 'server.started', port: config.port, worker: config.runWorker, ms: Date.now() - t0 });
process.stdout.write(
  [
    '',
    `  Assent is running for ${config.orgName} (started in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    `  Site:          ${config.baseUrl}/`,
    rt.devMailDir ? `  Mail catcher:  ${config.baseUrl}/dev/mail` : `  Mail:          sent through SMTP_URL`,
    rt.embeddedDatabase ? `  Database:      embedded PostgreSQL, data in ${config.dataDir}/pg` : `  Database:      DATABASE_URL`,
    `  Worker:        ${config.runWorker ? 'in this process' : 'not here (RUN_WORKER=false): run npm run worker'}`,
    '  Press Ctrl-C to stop.',
    '',
  ].join('\n') + '\n',
);

onShutdownSignal(logger, async () => {
  // Stop taking requests and let in-flight ones finish, then drain the worker, then release
  // the database pool, the mail transport and (last) the embedded PostgreSQL.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await closed;
  await runner?.stop();
  await rt.stop();
});
