import type { Knex } from 'knex';

/**
 * More of what the send task must know about a message, as facts on its row (not an import of the
 * feature that queued it):
 * - held: the message waits to be released (a paced bulk send that has not reached it yet, or one
 *   that is paused); a send job that finds it held leaves it for later.
 * - rate_limited: it counts against SEND_RATE_PER_SECOND / SEND_RATE_PER_HOUR and waits for a slot.
 * - cancel_reason: why a message was cancelled, as a code a progress page can count.
 * - refused_permanently: it ended failed on a permanent (5xx) refusal: the address bounced.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE email_messages
      ADD COLUMN held boolean NOT NULL DEFAULT false,
      ADD COLUMN rate_limited boolean NOT NULL DEFAULT false,
      ADD COLUMN cancel_reason text CHECK (cancel_reason IN ('opted_out', 'suppressed', 'no_address', 'withdrawn')),
      ADD COLUMN refused_permanently boolean NOT NULL DEFAULT false;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE email_messages DROP COLUMN held, DROP COLUMN rate_limited, DROP COLUMN cancel_reason, DROP COLUMN refused_permanently;
  `);
}
