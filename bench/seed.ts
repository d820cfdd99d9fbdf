import type { Db } from '../src/db.js';

/** Benchmark members have ids made from their number, so pgbench can name one: memberUuid(42). */
export function memberUuid(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}
export const MEMBER_UUID_SQL = (v: string) => `('00000000-0000-4000-8000-' || lpad(${v}::text, 12, '0'))::uuid`;

/** A privacy policy in force for a month, as every benchmark needs before it records a choice. */
export async function seedPolicyInForce(db: Db): Promise<number> {
  const [policy] = await db('policy_versions')
    .insert({
      version: '1.0',
      title: 'Privacy statement',
      body: 'What we do with your data.',
      published_at: db.raw(`now() - interval '30 days'`),
      effective_at: db.raw(`now() - interval '20 days'`),
    })
    .returning('id');
  return (policy as { id: number }).id;
}

/** A newsletter offered since that policy. */
export async function seedNewsletter(db: Db, policyId: number, slug: string, name: string): Promise<number> {
  const [topic] = await db('topics').insert({ slug, name, kind: 'newsletter', introduced_in_policy_version_id: policyId }).returning('id');
  return (topic as { id: number }).id;
}

export interface ConsentSeed {
  policyId: number;
  topicIds: number[];
}

/**
 * A policy in force, `topics` newsletters and members 1..`members`, each opted in to every topic
 * at sign-up (ledger event and current state, as the app would have written them).
 */
export async function seedMembersOptedIn(db: Db, members: number, topics = 4): Promise<ConsentSeed> {
  const policyId = await seedPolicyInForce(db);
  const topicIds: number[] = [];
  for (let i = 1; i <= topics; i++) {
    const [row] = await db('topics')
      .insert({
        slug: `news-${i}`,
        name: `Newsletter ${i}`,
        description: `Our newsletter number ${i}: news from the society, events and members' work.`,
        kind: 'newsletter',
        frequency: 'Monthly',
        introduced_in_policy_version_id: policyId,
        sort_order: i,
      })
      .returning('id');
    topicIds.push((row as { id: number }).id);
  }
  await db.raw(
    `INSERT INTO members (id, email, name, status, confirmed_at)
     SELECT ${MEMBER_UUID_SQL('n')}, 'member' || n || '@bench.example', 'Member ' || n, 'active', now()
     FROM generate_series(1, ?) AS n`,
    [members],
  );
  await db.raw(
    `WITH event AS (
       INSERT INTO consent_ledger (member_id, topic_id, from_status, to_status, source, channel, policy_version_id)
       SELECT m.id, t.id, NULL, 'opted_in', 'signup', 'web', ? FROM members m CROSS JOIN topics t
       RETURNING id, member_id, topic_id, to_status, policy_version_id
     )
     INSERT INTO consents (member_id, topic_id, status, policy_version_id, last_event_id)
     SELECT member_id, topic_id, to_status, policy_version_id, id FROM event`,
    [policyId],
  );
  await db.raw('ANALYZE');
  return { policyId, topicIds };
}
