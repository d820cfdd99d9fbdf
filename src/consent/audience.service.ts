import { appendAudit } from '../audit/audit.repository.js';
import { NotFoundError } from '../shared/errors.js';
import type { ServiceContext } from '../context.js';
import type { CopyCsv } from '../exports/copy.js';
import { audienceCopy, audienceTopics, findCurrentTopic } from './audience.repository.js';

/** The topics an audience can be exported for, each with the size of its audience now (C12). */
export function audienceChoices(svc: ServiceContext) {
  return audienceTopics(svc.db, svc.keys.suppression);
}

export interface AudienceSink {
  /** A HEAD request: nothing is sent, nothing audited. */
  head: boolean;
  /** Streams the CSV out; says how many rows went and whether the client took them all. */
  send(csv: CopyCsv, filename: string): Promise<{ rows: number; completed: boolean }>;
}

/**
 * C12: a topic's audience (opted in now, active, deliverable, not suppressed) streamed out, with two
 * audit entries: one before the first row leaves (so even a process that dies mid-download leaves
 * a record), and one when the stream ends with the row count, which only then is known; a
 * download the client broke off is logged with the rows sent so far and completed: false.
 */
export async function exportAudience(svc: ServiceContext, staffUserId: string, topicId: number, sink: AudienceSink): Promise<void> {
  const topic = await findCurrentTopic(svc.db, topicId);
  if (!topic) throw new NotFoundError('There is no such current topic.');
  if (!sink.head) await appendAudit(svc.db, { staffUserId, action: 'audience.export_started', details: { topicId: topic.id } });
  const result = await sink.send(
    audienceCopy(topic.id, svc.keys.suppression, svc.links.inSql(), 'csv'),
    `audience-${topic.slug}-${new Date().toISOString().slice(0, 10)}.csv`,
  );
  if (sink.head) return;
  await appendAudit(svc.db, {
    staffUserId,
    action: 'audience.exported',
    details: { topicId: topic.id, rows: result.rows, completed: result.completed },
  });
}
