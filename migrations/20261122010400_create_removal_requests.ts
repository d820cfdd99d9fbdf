import type { Knex } from 'knex';

/**
 * C6: a removal request is confirmed by e-mail and carried out by its due date unless staff
 * record a legal hold with a reason. At most one open request per member.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE removal_requests (
      id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      member_id     uuid NOT NULL REFERENCES members (id),
      status        text NOT NULL DEFAULT 'unconfirmed'
                    CHECK (status IN ('unconfirmed', 'confirmed', 'cancelled', 'held', 'completed')),
      requested_at  timestamptz NOT NULL DEFAULT now(),
      confirmed_at  timestamptz,
      due_at        timestamptz,
      cancelled_at  timestamptz,
      completed_at  timestamptz,
      hold_reason   text CHECK (length(hold_reason) <= 1000),
      CONSTRAINT removal_requests_confirmed_has_due CHECK (status <> 'confirmed' OR (confirmed_at IS NOT NULL AND due_at IS NOT NULL)),
      CONSTRAINT removal_requests_hold_has_reason CHECK (status <> 'held' OR length(trim(hold_reason)) > 0)
    );
    CREATE UNIQUE INDEX removal_requests_one_open_idx ON removal_requests (member_id)
      WHERE status IN ('unconfirmed', 'confirmed', 'held');
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE removal_requests');
}
