import http from 'node:http';
import { buildApp } from './app.js';
import { startJobRunner, startRuntime } from './deps.js';
import type { JobWorker } from './mail/worker.js';
import { bootOrExit, failedToStart, onShutdownSignal } from './boot.js';

const t0 = Date.now();
const { config, logger, watch } = bootOrExit();
const rt = await startRuntime(config, logger, watch).catch((err: unknown) => failedToStart(logger, 'database and mail', err));
let worker: JobWorker | undefined;
const app = buildApp({
  config,
  db: rt.db,
  logger,
  sessionPool: rt.sessionPool,
  devMailDir: rt.devMailDir,
  workerHealth: config.runWorker ? () => worker?.health() ?? { status: 'starting', lastHeartbeatAt: null } : undefined,
});

// Once stopping, every response says Connection: close, so no client sends another request on a
// connection that is about to be closed; the ones already under way are finished.
let stopping = false;
const inFlight = new Set<http.ServerResponse>();
const server = http.createServer((req, res) => {
  if (stopping) res.setHeader('Connection', 'close');
  inFlight.add(res);
  res.on('close', () => inFlight.delete(res));
  app(req, res);
});
server.listen(config.port);
await new Promise<void>((resolve, reject) => {
  server.once('listening', resolve);
  server.once('error', reject);
}).catch(async (err: Error) => {
  logger.fatal({ event: 'http.listen_failed', port: config.port, err: err.message });
  await rt.stop();
  process.exit(1);
});

if (config.runWorker) {
  worker = await startJobRunner(rt).catch((err: unknown) => failedToStart(logger, 'job runner', err));
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

onShutdownSignal(
  logger,
  async () => {
    // Stop taking requests on every connection: no new connections, idle keep-alive ones closed,
    // the last response on each busy one marked Connection: close. Let the requests in flight
    // finish, then let the worker finish its running jobs and release the rest, then release the
    // database pool, the mail transport and (last) the embedded PostgreSQL.
    stopping = true;
    for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // A connection becomes idle when its last response has gone: close those as they appear.
    const sweeper = setInterval(() => server.closeIdleConnections(), 50);
    await closed;
    clearInterval(sweeper);
    logger.info({ event: 'shutdown.http_closed' });
    await worker?.stop();
    await rt.stop();
  },
  config.shutdownGraceSeconds * 1000,
);
