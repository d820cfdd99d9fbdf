import { ConfigError, loadConfig, type Config } from './config.js';
import { DatabaseWatch, errorMessage, isDatabaseUnavailable } from './shared/db-watch.js';
import { createLogger, type Logger } from './shared/logger.js';

/**
 * Shared start-up of the entry points: a bad configuration ends the process with its reasons;
 * then the process-level handlers are installed and the process's database watch made.
 */
export function bootOrExit(): { config: Config; logger: Logger; watch: DatabaseWatch } {
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
  const watch = new DatabaseWatch(logger);
  installProcessHandlers(logger, watch);
  return { config, logger, watch };
}

/**
 * The last line of defence. An error nobody handled that only says the database is away (a
 * library's fire-and-forget write during an outage) is reported to the watch, which logs the
 * outage once and sees it end: the process rides it out. Anything else means the process is in
 * a state nobody planned for: it is logged with its stack, said in one plain line on stderr, and
 * the process ends with code 1 for its supervisor to restart it. Never silently.
 */
export function installProcessHandlers(logger: Logger, watch: DatabaseWatch): void {
  const fatal = (event: string, err: unknown) => {
    logger.fatal({ event, err: { message: errorMessage(err), stack: err instanceof Error ? err.stack : undefined } });
    process.stderr.write(`Assent stopped: ${event.replace('process.', '').replace(/_/g, ' ')}: ${errorMessage(err)}\n`);
    process.exit(1);
  };
  process.on('unhandledRejection', (reason) => {
    if (isDatabaseUnavailable(reason)) watch.unreachable('unhandled rejection', reason);
    else fatal('process.unhandled_rejection', reason);
  });
  process.on('uncaughtException', (err) => {
    if (isDatabaseUnavailable(err)) watch.unreachable('uncaught exception', err);
    else fatal('process.uncaught_exception', err);
  });
}

/** A start-up step that failed (the database not there at all, a port taken): one clear line, exit 1. */
export function failedToStart(logger: Logger, step: string, err: unknown): never {
  logger.fatal({ event: 'process.start_failed', step, err: errorMessage(err) });
  process.stderr.write(`Assent cannot start: ${step}: ${errorMessage(err)}\n`);
  process.exit(1);
}

/**
 * Runs stop() once on SIGINT/SIGTERM, and exits 0; a second signal, or a stop that takes longer
 * than the grace (SHUTDOWN_GRACE_SECONDS), forces the exit with code 1.
 */
export function onShutdownSignal(logger: Logger, stop: () => Promise<void>, graceMs: number): void {
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
