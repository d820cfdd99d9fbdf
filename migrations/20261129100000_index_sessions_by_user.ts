import type { Knex } from 'knex';

/**
 * Sessions are found by who is signed in, so a password change, a password removal or an e-mail
 * change can end every other session of that member (or staff user) at once.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `CREATE INDEX sessions_user_idx ON sessions ((sess #>> '{passport,user,id}')) WHERE (sess #>> '{passport,user,id}') IS NOT NULL`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX sessions_user_idx');
}
