import type { Knex } from 'knex';

/**
 * C12: questions from the public, kept apart from member records. No column refers to a member,
 * and nothing joins them: contact data given with an inquiry is used only to answer it. A closed
 * inquiry is deleted, replies and all, a configurable time after closing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE inquiries (
      id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      email       citext NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
      subject     text NOT NULL CHECK (subject IN ('data_question', 'removal', 'other')),
      message     text NOT NULL CHECK (length(message) BETWEEN 1 AND 5000),
      status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
      created_at  timestamptz NOT NULL DEFAULT now(),
      closed_at   timestamptz,
      CONSTRAINT inquiries_closed_has_time CHECK ((status = 'closed') = (closed_at IS NOT NULL))
    );
    CREATE INDEX inquiries_status_idx ON inquiries (status, created_at);
    CREATE TABLE inquiry_replies (
      id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      inquiry_id        uuid NOT NULL REFERENCES inquiries (id) ON DELETE CASCADE,
      staff_user_id     uuid REFERENCES staff_users (id),
      body              text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
      email_message_id  uuid REFERENCES email_messages (id) ON DELETE SET NULL,
      created_at        timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX inquiry_replies_inquiry_idx ON inquiry_replies (inquiry_id, created_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE inquiry_replies; DROP TABLE inquiries');
}
