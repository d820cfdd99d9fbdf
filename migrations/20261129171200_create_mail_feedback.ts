import type { Knex } from 'knex';

/**
 * What the sending service reports back about our mail (issue 12.4): bounces, complaints and
 * deliveries, one row each (the provider's own id makes a repeated report harmless). Matched by
 * Message-ID, a report also marks the message it is about, so a bulletin's progress counts it.
 * A row keeps codes, not the provider's free text, which may quote the address (C10, C6).
 * members.soft_bounces_in_row counts temporary failures since the last delivery; past the
 * configured limit the address is marked undeliverable (C12).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE mail_feedback (
      id                bigserial PRIMARY KEY,
      provider          text NOT NULL CHECK (provider IN ('ses', 'postmark')),
      provider_event_id text NOT NULL CHECK (length(provider_event_id) <= 200),
      kind              text NOT NULL CHECK (kind IN ('hard_bounce', 'soft_bounce', 'complaint', 'delivery')),
      detail            text NOT NULL DEFAULT '' CHECK (length(detail) <= 100),
      member_id         uuid REFERENCES members (id),
      email_message_id  uuid REFERENCES email_messages (id),
      outcome           text NOT NULL DEFAULT 'recorded' CHECK (outcome IN (
                          'recorded', 'marked_undeliverable', 'opted_out', 'counted', 'reset', 'no_member')),
      received_at       timestamptz NOT NULL DEFAULT now(),
      UNIQUE (provider, provider_event_id, kind)
    );
    CREATE INDEX mail_feedback_member_idx ON mail_feedback (member_id, received_at) WHERE member_id IS NOT NULL;
    CREATE INDEX mail_feedback_message_idx ON mail_feedback (email_message_id) WHERE email_message_id IS NOT NULL;

    ALTER TABLE members ADD COLUMN soft_bounces_in_row integer NOT NULL DEFAULT 0 CHECK (soft_bounces_in_row >= 0);
    ALTER TABLE email_messages
      ADD COLUMN bounce text CHECK (bounce IN ('hard', 'soft')),
      ADD COLUMN complained_at timestamptz;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE mail_feedback;
    ALTER TABLE members DROP COLUMN soft_bounces_in_row;
    ALTER TABLE email_messages DROP COLUMN bounce, DROP COLUMN complained_at;
  `);
}
