import type { Knex } from 'knex';

/**
 * The send rate limit shared by every worker process (SEND_RATE_PER_SECOND, SEND_RATE_PER_HOUR):
 * how many rate-limited messages were handed to SMTP in each second, by the database's clock.
 * A send takes its slot with one statement (mail/send-rate.ts); rows older than two hours are
 * pruned by the maintenance job.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE send_rate_seconds (
      second timestamptz PRIMARY KEY,
      sent   integer NOT NULL CHECK (sent >= 0)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE send_rate_seconds');
}
