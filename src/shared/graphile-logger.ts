import { Logger as GraphileLogger, type LogFunctionFactory } from 'graphile-worker';
import { isDatabaseUnavailable, type DatabaseWatch } from './db-watch.js';
import type { Logger } from './logger.js';

/**
 * Routes graphile-worker's own messages into our structured log. With a database watch, the
 * messages that only say the database is away (a job that could not read its row, a lost
 * LISTEN connection, a completion that could not be recorded) go to the watch, which logs the
 * outage once, instead of one error line per job.
 */
export function graphileLogger(logger: Logger, watch?: DatabaseWatch): GraphileLogger {
  const factory: LogFunctionFactory = (scope) => (level, message, meta) => {
    const entry = { event: 'worker', task: scope.taskIdentifier, jobId: scope.jobId, msg: message };
    if (watch && (level === 'error' || level === 'warning')) {
      const cause = meta?.error ?? meta?.fatalError;
      if (cause !== undefined ? isDatabaseUnavailable(cause) : isDatabaseUnavailable(message)) {
        watch.unreachable('worker', cause ?? message);
        logger.debug(entry);
        return;
      }
    }
    if (level === 'error') logger.error(entry);
    else if (level === 'warning') logger.warn(entry);
    else if (level === 'info') logger.debug(entry);
    else logger.trace(entry);
  };
  return new GraphileLogger(factory);
}
