import type { Task } from 'graphile-worker';
import type { Logger } from '../shared/logger.js';
import type { ServiceContext } from '../context.js';
import { carryOutDueRemovals } from './erasure.service.js';

export const CARRY_OUT_REMOVALS_TASK = 'carry_out_removals';

/** The hourly run (worker CRONTAB) that carries out confirmed removal requests past their due date (C6). */
export function makeCarryOutRemovalsTask(svc: ServiceContext, logger: Logger): Task {
  return async () => {
    const { completed, failed } = await carryOutDueRemovals(svc, (requestId, err) =>
      logger.error({ event: 'removal.carry_out_failed', requestId, err: err instanceof Error ? err.message : String(err) }),
    );
    if (completed.length || failed.length)
      logger.info({ event: 'removal.carried_out', completed: completed.length, failed: failed.length });
  };
}
