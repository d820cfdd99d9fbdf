import type { Knex } from 'knex';

/**
 * The organisation's branding (issue 13.11), one row: a primary colour, the sender name of its
 * e-mail, and a logo (PNG, JPEG or SVG, at most 256 kB). The colour must be dark enough for white
 * text on it (WCAG AA, 4.5:1): the app checks the ratio; the database keeps the format.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE branding (
      id              boolean PRIMARY KEY DEFAULT true CHECK (id),
      primary_colour  text CHECK (primary_colour ~ '^#[0-9a-f]{6}$'),
      sender_name     text CHECK (length(sender_name) BETWEEN 1 AND 100),
      logo            bytea CHECK (octet_length(logo) <= 262144),
      logo_type       text CHECK (logo_type IN ('image/png', 'image/jpeg', 'image/svg+xml')),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      updated_by      uuid REFERENCES staff_users (id),
      CONSTRAINT branding_logo_has_type CHECK ((logo IS NULL) = (logo_type IS NULL))
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE branding');
}
