import type { Task, TaskList } from 'graphile-worker';
import type { ServiceContext } from '../context.js';
import {
  BULLETIN_DISPATCH_TASK,
  BULLETIN_SNAPSHOT_TASK,
  BULLETIN_START_TASK,
  DispatchPayload,
  runDispatch,
  runSnapshotBatch,
  runStart,
  SnapshotPayload,
  StartPayload,
} from './sending.service.js';

/** A task whose payload does not parse is dropped with a log line, not retried. */
function parsed<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  name: string,
  run: (p: T) => Promise<string>,
): Task {
  return async (payload, helpers) => {
    const p = schema.safeParse(payload);
    if (!p.success) {
      helpers.logger.error(`${name}: malformed payload, job dropped`);
      return;
    }
    helpers.logger.debug(`${name}: ${await run(p.data)}`);
  };
}

/** The worker tasks of bulletin sending (see sending.service.ts); src/jobs.ts lists them. */
export function bulletinTasks(svc: ServiceContext): TaskList {
  return {
    [BULLETIN_START_TASK]: parsed(StartPayload, BULLETIN_START_TASK, async (p) =>
      (await runStart(svc, p.bulletinId)) ? `bulletin ${p.bulletinId} started` : `bulletin ${p.bulletinId} not due`,
    ),
    [BULLETIN_SNAPSHOT_TASK]: parsed(SnapshotPayload, BULLETIN_SNAPSHOT_TASK, async (p) => {
      const r = await runSnapshotBatch(svc, p);
      return `bulletin ${p.bulletinId}: ${r.handled} handled, ${r.queued} queued${r.finished ? ', snapshot finished' : ''}`;
    }),
    [BULLETIN_DISPATCH_TASK]: parsed(DispatchPayload, BULLETIN_DISPATCH_TASK, async (p) => {
      const r = await runDispatch(svc, p.bulletinId);
      if (r.busy) return `bulletin ${p.bulletinId}: another dispatch is running`;
      return `bulletin ${p.bulletinId}: ${r.released} released${r.finished ? ', sent' : ''}`;
    }),
  };
}
