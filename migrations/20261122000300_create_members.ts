import type { Knex } from 'knex';

/**
 * A member's personal data lives only in this row, so erasure (C6) can null it in one place.
 * The address is citext so Alice@Example.org and alice@example.org are one member.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE members (
      id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email           citext UNIQUE CHECK (length(email) <= 254),
      name            text CHECK (length(name) <= 200),
      postal_address  text CHECK (length(postal_address) <= 1000),
      phone           text CHECK (length(phone) <= 40),
      status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'erased')),
      confirmed_at    timestamptz,
      erased_at       timestamptz,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT members_erased_hold_no_personal_data CHECK (
        status <> 'erased' OR (email IS NULL AND name IS NULL AND postal_address IS NULL AND phone IS NULL)
      ),
      CONSTRAINT members_live_have_email CHECK (status = 'erased' OR email IS NOT NULL)
    );
    CREATE INDEX members_status_idx ON members (status);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE members');
}
