import type { Knex } from 'knex';

/**
 * C1: third-party offers and partner data sharing can never default to opted in.
 * C8: each topic names the policy version that introduced its use.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE topics (
      id            serial PRIMARY KEY,
      slug          text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
      name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
      description   text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
      kind          text NOT NULL CHECK (kind IN ('newsletter', 'announcement', 'third_party_offer', 'partner_data_sharing')),
      channel       text NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'post', 'phone')),
      default_opt_in boolean NOT NULL DEFAULT false,
      partner_name  text CHECK (length(partner_name) <= 200),
      introduced_in_policy_version_id integer NOT NULL REFERENCES policy_versions (id),
      sort_order    integer NOT NULL DEFAULT 0,
      retired_at    timestamptz,
      created_at    timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT topics_third_party_never_default_on CHECK (
        NOT (kind IN ('third_party_offer', 'partner_data_sharing') AND default_opt_in)
      ),
      CONSTRAINT topics_third_party_names_partner CHECK (
        kind NOT IN ('third_party_offer', 'partner_data_sharing') OR partner_name IS NOT NULL
      )
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE topics');
}
