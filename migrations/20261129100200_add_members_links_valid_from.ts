import type { Knex } from 'knex';

/**
 * C11: manage links (/p/) are signed, not stored, so they cannot be revoked one by one. When a
 * member's e-mail address changes, every manage link issued before that second stops working: the
 * old mailbox may no longer be the member's. Unsubscribe links are not affected (C4: they always work).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE members ADD COLUMN links_valid_from timestamptz');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE members DROP COLUMN links_valid_from');
}
