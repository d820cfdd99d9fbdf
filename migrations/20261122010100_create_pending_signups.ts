import type { Knex } from 'knex';

/**
 * C15: a sign-up is kept apart from members until the address owner confirms it, and is purged
 * when it expires. C13: the row exists only if the age confirmation was given.
 * C8: it remembers the policy version the visitor saw when ticking the boxes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE pending_signups (
      id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email             citext NOT NULL CHECK (length(email) <= 254),
      name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      postal_address    text CHECK (length(postal_address) <= 1000),
      phone             text CHECK (length(phone) <= 40),
      topic_ids         integer[] NOT NULL DEFAULT '{}',
      policy_version_id integer NOT NULL REFERENCES policy_versions (id),
      age_confirmed     boolean NOT NULL CHECK (age_confirmed),
      token_hash        text NOT NULL UNIQUE,
      expires_at        timestamptz NOT NULL,
      created_at        timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX pending_signups_email_idx ON pending_signups (email);
    CREATE INDEX pending_signups_expires_idx ON pending_signups (expires_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE pending_signups');
}
