import type { Knex } from 'knex';

/**
 * Issue 13.10: a confirmation link used again (or a sibling link of a confirmed sign-up) is
 * recognised for a while, so its page can say the membership is already confirmed instead of
 * "sign up again". Only the link's hash and the member it confirmed: no address, no name. Purged
 * after 30 days, and at once when the member is erased (C6).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE used_signup_links (
      token_hash   text PRIMARY KEY,
      member_id    uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
      confirmed_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX used_signup_links_member_idx ON used_signup_links (member_id);
    CREATE INDEX used_signup_links_confirmed_idx ON used_signup_links (confirmed_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE used_signup_links');
}
