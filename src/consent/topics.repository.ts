import type { DbOrTx } from '../db.js';
import { topicsWithOrigin, type TopicKind } from './consent.repository.js';

export interface AdminTopicRow {
  id: number;
  slug: string;
  name: string;
  description: string;
  kind: TopicKind;
  channel: 'email' | 'post' | 'phone';
  frequency: string;
  partner_id: number | null;
  partner_name: string | null;
  introduced_in_policy_version_id: number;
  policy_version: string;
  policy_published_at: Date | null;
  sort_order: number;
  retired_at: Date | null;
  opted_in: number;
}

/** Every topic, retired ones included, with the members opted in now (a count, no one named). */
export async function listAllTopics(db: DbOrTx): Promise<AdminTopicRow[]> {
  return topicQuery(db).orderBy([{ column: 't.sort_order' }, { column: 't.id' }]) as unknown as Promise<AdminTopicRow[]>;
}

export async function findAdminTopic(db: DbOrTx, id: number): Promise<AdminTopicRow | undefined> {
  return topicQuery(db).where('t.id', id).first() as unknown as Promise<AdminTopicRow | undefined>;
}

function topicQuery(db: DbOrTx) {
  return topicsWithOrigin(db).select(
    't.partner_id',
    'p.version as policy_version',
    'p.published_at as policy_published_at',
    't.retired_at',
    db.raw(`(SELECT count(*) FROM consents c WHERE c.topic_id = t.id AND c.status = 'opted_in')::int AS opted_in`),
  );
}

export async function listPartnerChoices(db: DbOrTx): Promise<{ id: number; name: string }[]> {
  return db('partners').orderBy('name').select('id', 'name');
}

export interface NewTopic {
  slug: string;
  name: string;
  description: string;
  kind: TopicKind;
  channel: string;
  frequency: string;
  partner_id: number | null;
  introduced_in_policy_version_id: number;
  sort_order: number;
}

export async function insertTopicRow(db: DbOrTx, t: NewTopic): Promise<number> {
  const [row] = await db('topics').insert(t).returning('id');
  return (row as { id: number }).id;
}

export async function updateTopicRow(
  db: DbOrTx,
  id: number,
  t: { name: string; description: string; channel: string; frequency: string; sort_order: number },
): Promise<boolean> {
  return (await db('topics').where({ id }).update(t)) > 0;
}

/** Brings a retired topic back; false if it was not retired. */
export async function restoreTopicRow(db: DbOrTx, id: number): Promise<boolean> {
  return (await db('topics').where({ id }).whereNotNull('retired_at').update({ retired_at: null })) > 0;
}

/** Marks the topic retired; false if it was retired already. */
export async function retireTopicRow(db: DbOrTx, id: number): Promise<boolean> {
  return (await db('topics').where({ id }).whereNull('retired_at').update({ retired_at: db.fn.now() })) > 0;
}
