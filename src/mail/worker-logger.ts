import { Logger as GraphileLogger, type LogFunctionFactory } from 'graphile-worker';
import type { Logger } from '../shared/logger.js';

/** Routes graphile-worker's own messages into our structured log. */
export function graphileLogger(logger: Logger): GraphileLogger {
  const factory: LogFunctionFactory = (scope) => (level, message) => {
    const entry = { event: 'worker', task: scope.taskIdentifier, jobId: scope.jobId, msg: message };
    if (level === 'error') logger.error(entry);
    else if (level === 'warning') logger.warn(entry);
    else if (level === 'info') logger.debug(entry);
    else logger.trace(entry);
  };
  return new GraphileLogger(factory);
}
