import type { Knex } from 'knex';

/**
 * The outbox. A service inserts the built message and its send job in its own transaction;
 * the worker sends it later. The row is what makes a retried job safe: a message already
 * marked sent is never sent again, and the Message-ID is fixed when the row is written.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE email_messages (
      id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      kind        text NOT NULL CHECK (length(kind) BETWEEN 1 AND 60),
      recipient   citext CHECK (length(recipient) <= 254),
      member_id   uuid REFERENCES members (id),
      topic_id    integer REFERENCES topics (id),
      message_id  text NOT NULL UNIQUE,
      subject     text NOT NULL,
      text_body   text NOT NULL,
      html_body   text NOT NULL,
      headers     jsonb NOT NULL DEFAULT '{}'::jsonb,
      status      text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'cancelled')),
      attempts    integer NOT NULL DEFAULT 0,
      last_error  text,
      sent_at     timestamptz,
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT email_messages_sent_has_time CHECK ((status = 'sent') = (sent_at IS NOT NULL))
    );
    CREATE INDEX email_messages_member_idx ON email_messages (member_id, created_at);
    CREATE INDEX email_messages_status_idx ON email_messages (status, created_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE email_messages');
}
