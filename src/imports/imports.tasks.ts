import type { TaskList } from 'graphile-worker';
import type { ServiceContext } from '../context.js';
import { ApplyPayload, IMPORT_APPLY_TASK, IMPORT_INVITE_TASK, InvitePayload, runApplyBatch, runInviteRound } from './apply.service.js';

/** The worker tasks of imports (see apply.service.ts); src/jobs.ts lists them. A malformed payload is dropped, not retried. */
export function importTasks(svc: ServiceContext): TaskList {
  return {
    [IMPORT_APPLY_TASK]: async (payload, helpers) => {
      const p = ApplyPayload.safeParse(payload);
      if (!p.success) return helpers.logger.error(`${IMPORT_APPLY_TASK}: malformed payload, job dropped`);
      helpers.logger.debug(`import ${p.data.importId}: ${await runApplyBatch(svc, p.data)}`);
    },
    [IMPORT_INVITE_TASK]: async (payload, helpers) => {
      const p = InvitePayload.safeParse(payload);
      if (!p.success) return helpers.logger.error(`${IMPORT_INVITE_TASK}: malformed payload, job dropped`);
      helpers.logger.debug(`import ${p.data.importId}: ${await runInviteRound(svc, p.data.importId)}`);
    },
  };
}
