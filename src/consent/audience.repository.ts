import type { Knex } from 'knex';
import type { DbOrTx } from '../db.js';
import type { SuppressionKeys } from '../shared/suppression.js';

export interface AudienceTopicRow {
  id: number;
  slug: string;
  name: string;
  kind: string;
  channel: string;
  partner: string | null;
  deliverable: number;
}

/**
 * C12: who may be in a topic's audience: opted in now, an active member, an address on file that
 * has not bounced for good, and not on the suppression list. The suppression list keeps
 * HMAC-SHA256(key, lower-cased trimmed address) under any of its lookup keys (see
 * shared/suppression.ts); pgcrypto computes the same hash here, so the check runs in the query and
 * the list can be streamed. Addresses are validated as ASCII on the way in, where lower() and
 * JavaScript's toLowerCase() agree. The keys travel as a bound parameter, never in the SQL text.
 */
const DELIVERABLE = `
  c.status = 'opted_in'
  AND m.status = 'active'
  AND m.email IS NOT NULL
  AND m.email_undeliverable_at IS NULL
  AND NOT EXISTS (
    SELECT 1 FROM unnest(CAST(:keys AS text[])) AS k(key)
    JOIN suppression_list s ON s.address_hash = encode(hmac(lower(btrim(m.email::text)), k.key, 'sha256'), 'hex')
  )`;

/** Current (not retired) topics with the size of their deliverable audience. */
export async function audienceTopics(db: DbOrTx, keys: SuppressionKeys): Promise<AudienceTopicRow[]> {
  const { rows } = await db.raw<{ rows: AudienceTopicRow[] }>(
    `SELECT t.id, t.slug, t.name, t.kind, t.channel, p.name AS partner,
            (SELECT count(*) FROM consents c JOIN members m ON m.id = c.member_id
             WHERE c.topic_id = t.id AND ${DELIVERABLE}) AS deliverable
     FROM topics t LEFT JOIN partners p ON p.id = t.partner_id
     WHERE t.retired_at IS NULL
     ORDER BY t.sort_order, t.id`,
    { keys: [...keys.lookup] },
  );
  return rows;
}

export async function findCurrentTopic(db: DbOrTx, id: number): Promise<{ id: number; slug: string } | undefined> {
  return db('topics').where({ id }).whereNull('retired_at').first('id', 'slug') as Promise<{ id: number; slug: string } | undefined>;
}

/** The audience of one topic, for streaming (no ORDER BY: a sort would hold back the first row). */
export function audienceRowsQuery(db: DbOrTx, topicId: number, keys: SuppressionKeys): Knex.Raw {
  return db.raw(
    `SELECT m.id AS member_id, m.email::text AS email, m.name
     FROM consents c JOIN members m ON m.id = c.member_id
     WHERE c.topic_id = :topicId AND ${DELIVERABLE}`,
    { topicId, keys: [...keys.lookup] },
  );
}
