import type { Db } from '../../src/db.js';
import { startNoticeFanout } from '../../src/policies/notices.service.js';
import { insertOptedInMembers, insertPolicy, insertTopic } from './fixtures.js';
import type { SmtpSink } from './smtp.js';

export interface Population {
  policyId: number;
  topicId: number;
  /** Every member's id, in the order the fan-out walks them (by id). */
  memberIds: string[];
  emails: Map<string, string>;
}

/** A policy in force, a newsletter, and `count` active members opted in to it: `<prefix><n>@example.org`. */
export async function insertPopulation(db: Db, count: number, prefix = 'member'): Promise<Population> {
  const policyId = await insertPolicy(db, { version: '1.0' });
  const topicId = await insertTopic(db, { slug: 'newsletter', kind: 'newsletter', policyId });
  await insertOptedInMembers(db, { count, topicId, policyId, prefix, domain: 'example.org' });
  const rows = (await db('members').orderBy('id').select('id', 'email')) as { id: string; email: string }[];
  return { policyId, topicId, memberIds: rows.map((r) => r.id), emails: new Map(rows.map((r) => [r.id, r.email])) };
}

/**
 * Publishes version 2.0 and starts its notice fan-out in one transaction, as the admin's publish
 * does, in batches of `batchSize`. Returns the version's id.
 */
export async function publishWithFanout(db: Db, batchSize: number): Promise<number> {
  const versionId = await insertPolicy(db, { version: '2.0', publishedDaysAgo: 0, effectiveInDays: 10 });
  await db.transaction((trx) => startNoticeFanout(trx, versionId, batchSize));
  return versionId;
}

export const isNotice = (m: { parsed: { subject?: string } }): boolean => /privacy policy/i.test(m.parsed.subject ?? '');

/** How many notices each address received. */
export function noticeCounts(smtp: SmtpSink): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of smtp.messages.filter(isNotice)) for (const to of m.envelopeTo) counts.set(to, (counts.get(to) ?? 0) + 1);
  return counts;
}

export async function noticeRun(db: Db, versionId: number): Promise<{ finished_at: Date | null } | undefined> {
  return db('policy_notice_runs').where({ policy_version_id: versionId }).first();
}
