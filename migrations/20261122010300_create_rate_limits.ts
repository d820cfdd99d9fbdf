import type { Knex } from 'knex';

/** Fixed-window counters in PostgreSQL, so a limit holds across every web node. Keys are hashed. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE rate_limits (
      key          text NOT NULL,
      window_start timestamptz NOT NULL,
      count        integer NOT NULL DEFAULT 0,
      PRIMARY KEY (key, window_start)
    );
    CREATE INDEX rate_limits_window_idx ON rate_limits (window_start);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE rate_limits');
}
