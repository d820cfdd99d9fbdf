import { ConfigError, loadConfig, type Config } from '../config.js';
import { createLogger, type Logger } from './logger.js';

/** Shared start-up of the entry points: a bad configuration ends the process with its reasons. */
export function bootOrExit(): { config: Config; logger: Logger } {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Assent cannot start. ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, !config.isProduction && process.stdout.isTTY);
  return { config, logger };
}

/** Runs stop() once on SIGINT/SIGTERM, and exits; a second signal or a stuck stop forces the exit. */
export function onShutdownSignal(logger: Logger, stop: () => Promise<void>, graceMs = 15000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ event: 'shutdown.forced', signal });
      process.exit(1);
    }
    stopping = true;
    logger.info({ event: 'shutdown.start', signal });
    setTimeout(() => {
      logger.error({ event: 'shutdown.timeout', graceMs });
      process.exit(1);
    }, graceMs).unref();
    stop().then(
      () => {
        logger.info({ event: 'shutdown.done' });
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ event: 'shutdown.failed', err: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
