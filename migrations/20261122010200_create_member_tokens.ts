import type { Knex } from 'knex';

/**
 * Single-use links (sign-in, data export, removal, e-mail verification): random tokens stored only
 * as a SHA-256 hash, valid for minutes, marked used on first use.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE member_tokens (
      id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      member_id   uuid NOT NULL REFERENCES members (id),
      purpose     text NOT NULL CHECK (purpose IN ('signin', 'data', 'removal', 'email_verify')),
      token_hash  text NOT NULL UNIQUE,
      data        jsonb NOT NULL DEFAULT '{}'::jsonb,
      expires_at  timestamptz NOT NULL,
      used_at     timestamptz,
      created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX member_tokens_member_idx ON member_tokens (member_id, purpose);
    CREATE INDEX member_tokens_expires_idx ON member_tokens (expires_at);

    ALTER TABLE members ADD COLUMN password_hash text;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE member_tokens; ALTER TABLE members DROP COLUMN password_hash');
}
