import type { Knex } from 'knex';

/**
 * Sends read their messages in batches, and a batch takes the send slots of all its messages that
 * are to go in one statement: as many as the second and the hour still have room for, which may
 * be fewer than asked. `granted` is how many the last take of this second got, so that statement
 * can tell which of its messages have a slot (RETURNING gives the row as the take left it).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE send_rate_seconds ADD COLUMN granted integer NOT NULL DEFAULT 1 CHECK (granted >= 0)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE send_rate_seconds DROP COLUMN granted');
}
