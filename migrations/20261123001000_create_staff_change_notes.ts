import type { Knex } from 'knex';

/**
 * C3: a change that reached staff by phone, post or e-mail keeps the staff member's free-text note
 * here, OUTSIDE the append-only consent ledger (which holds no free text, C10), so erasure (C6) can
 * delete it. The ledger event itself carries source 'staff', the channel and the member's own
 * request reference.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE staff_change_notes (
      id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      member_id         uuid NOT NULL REFERENCES members (id),
      staff_user_id     uuid NOT NULL REFERENCES staff_users (id),
      channel           text NOT NULL CHECK (channel IN ('phone', 'post', 'email')),
      note              text NOT NULL CHECK (length(note) BETWEEN 1 AND 2000 AND length(trim(note)) > 0),
      request_reference text CHECK (length(request_reference) <= 200),
      created_at        timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX staff_change_notes_member_idx ON staff_change_notes (member_id, created_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE staff_change_notes');
}
