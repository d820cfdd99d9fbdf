import type { TaskList } from 'graphile-worker';
import type { ServiceContext } from '../context.js';
import {
  ApplyPayload,
  failImport,
  IMPORT_APPLY_TASK,
  IMPORT_INVITE_TASK,
  InvitePayload,
  runApplyBatch,
  runInviteRound,
} from './apply.service.js';

/** The worker tasks of imports (see apply.service.ts); src/jobs.ts lists them. A malformed payload is dropped, not retried. */
export function importTasks(svc: ServiceContext): TaskList {
  return {
    [IMPORT_APPLY_TASK]: async (payload, helpers) => {
      const p = ApplyPayload.safeParse(payload);
      if (!p.success) return helpers.logger.error(`${IMPORT_APPLY_TASK}: malformed payload, job dropped`);
      try {
        helpers.logger.debug(`import ${p.data.importId}: ${await runApplyBatch(svc, p.data)}`);
      } catch (err) {
        // Retried with backoff; on the last attempt the import is marked failed instead of staying "Importing".
        if (helpers.job.attempts < helpers.job.max_attempts) throw err;
        await failImport(svc, p.data.importId, err, helpers.job.attempts);
        helpers.logger.error(`import ${p.data.importId}: failed after ${helpers.job.attempts} attempts`);
      }
    },
    [IMPORT_INVITE_TASK]: async (payload, helpers) => {
      const p = InvitePayload.safeParse(payload);
      if (!p.success) return helpers.logger.error(`${IMPORT_INVITE_TASK}: malformed payload, job dropped`);
      helpers.logger.debug(`import ${p.data.importId}: ${await runInviteRound(svc, p.data.importId)}`);
    },
  };
}
