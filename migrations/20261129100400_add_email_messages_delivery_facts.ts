import type { Knex } from 'knex';

/**
 * What the send task must know about a message after it is built is a fact on its row, not an
 * import of the feature that queued it: whether it may reach an address on the suppression list
 * (only the double opt-in and the erasure's own completion mail, C6), and whether its content is
 * scrubbed once it has gone (the completion mail, the last place an erased address exists).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE email_messages
      ADD COLUMN reaches_suppressed boolean NOT NULL DEFAULT false,
      ADD COLUMN scrub_after_send boolean NOT NULL DEFAULT false;
    UPDATE email_messages SET reaches_suppressed = true WHERE kind IN ('signup_confirm', 'removal_completed');
    UPDATE email_messages SET scrub_after_send = true WHERE kind = 'removal_completed';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE email_messages DROP COLUMN reaches_suppressed, DROP COLUMN scrub_after_send');
}
