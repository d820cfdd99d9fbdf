import type { Runner } from 'graphile-worker';
import { buildApp } from './app.js';
import { startJobRunner, startRuntime } from './deps.js';
import { bootOrExit, onShutdownSignal } from './shared/boot.js';

const t0 = Date.now();
const { config, logger } = bootOrExit();
const rt = await startRuntime(config, logger);
const app = buildApp({ config, db: rt.db, logger, sessionPool: rt.sessionPool, devMailDir: rt.devMailDir });
const server = app.listen(config.port);
await new Promise<void>((resolve, reject) => {
  server.once('listening', resolve);
  server.once('error', reject);
}).catch(async (err: Error) => {
  logger.fatal({ event: 'http.listen_failed', port: config.port, err: err.message });
  await rt.stop();
  process.exit(1);
});

let runner: Runner | undefined;
if (config.runWorker) {
  runner = await startJobRunner(rt);
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
