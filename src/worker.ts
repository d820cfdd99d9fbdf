import { startJobRunner, startRuntime } from './deps.js';
import { bootOrExit, failedToStart, onShutdownSignal } from './boot.js';

/**
 * A job runner on its own (npm run worker), for scaling out: run as many as needed against one
 * PostgreSQL, with RUN_WORKER=false on the web processes.
 */
const { config, logger, watch } = bootOrExit();
const rt = await startRuntime(config, logger, watch).catch((err: unknown) => failedToStart(logger, 'database and mail', err));
const runner = await startJobRunner(rt).catch((err: unknown) => failedToStart(logger, 'job runner', err));
logger.info({ event: 'worker.started', concurrency: config.workerConcurrency });
onShutdownSignal(
  logger,
  async () => {
    await runner.stop();
    await rt.stop();
  },
  config.shutdownGraceSeconds * 1000,
);
