import type { Knex } from 'knex';

/** The table connect-pg-simple expects; sessions live in PostgreSQL so any web node serves any visitor. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE sessions (
      sid    varchar NOT NULL PRIMARY KEY,
      sess   json NOT NULL,
      expire timestamp(6) NOT NULL
    );
    CREATE INDEX sessions_expire_idx ON sessions (expire);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE sessions');
}
