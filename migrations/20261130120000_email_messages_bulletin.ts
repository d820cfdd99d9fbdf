import type { Knex } from 'knex';

/**
 * A bulletin's messages carry their bulletin, indexed with their state. The dispatcher asks, every
 * tenth of a second or so while a bulletin goes out, how many of its messages are held and how many
 * released, and releases the next held ones in member order; through bulletin_recipients each of
 * those questions joined every recipient of the bulletin to its message, sent or not (about 50 ms
 * at 10,000 recipients, most of PostgreSQL's work in a send). With this index each reads only the
 * rows it is about.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE email_messages ADD COLUMN bulletin_id integer REFERENCES bulletins (id);
    UPDATE email_messages e SET bulletin_id = r.bulletin_id FROM bulletin_recipients r WHERE r.email_message_id = e.id;
    CREATE INDEX email_messages_bulletin_idx ON email_messages (bulletin_id, status, held, member_id) WHERE bulletin_id IS NOT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE email_messages DROP COLUMN bulletin_id');
}
