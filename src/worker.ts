import { startJobRunner, startRuntime } from './deps.js';
import { bootOrExit, onShutdownSignal } from './shared/boot.js';

/**
 * A job runner on its own (npm run worker), for scaling out: run as many as needed against one
 * PostgreSQL, with RUN_WORKER=false on the web processes.
 */
const { config, logger } = bootOrExit();
const rt = await startRuntime(config, logger);
const runner = await startJobRunner(rt);
logger.info({ event: 'worker.started', concurrency: config.workerConcurrency });
onShutdownSignal(logger, async () => {
  await runner.stop();
  await rt.stop();
});
