import type { Task } from 'graphile-worker';
import type { ServiceContext } from '../context.js';
import { BatchPayload, runNoticeBatch } from './notices.service.js';

/** The worker task of one notice batch; a payload that does not parse is dropped with a log line, not retried. */
export function makePolicyNoticeBatchTask(svc: ServiceContext): Task {
  return async (payload, helpers) => {
    const parsed = BatchPayload.safeParse(payload);
    if (!parsed.success) {
      helpers.logger.error('policy notice batch: malformed payload, job dropped');
      return;
    }
    const result = await runNoticeBatch(svc, parsed.data);
    helpers.logger.info(
      `policy notice batch: version ${parsed.data.policyVersionId}, ${result.handled} handled, ${result.queued} queued${result.finished ? ', finished' : ''}`,
    );
  };
}
