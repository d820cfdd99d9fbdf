import type { Knex } from 'knex';
import { addToCheckList, removeFromCheckList } from '../src/shared/check-lists.js';

/**
 * Addresses other systems report (issue 12): a hard bounce, a spam complaint, or suppressed by hand.
 * They join erased addresses on the suppression list (keyed hashes only), so nothing mails them.
 */
export async function up(knex: Knex): Promise<void> {
  await addToCheckList(knex, 'suppression_list', 'reason', 'suppression_list_reason_check', ['bounce', 'complaint', 'manual']);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DELETE FROM suppression_list WHERE reason IN ('bounce', 'complaint', 'manual')`);
  await removeFromCheckList(knex, 'suppression_list', 'reason', 'suppression_list_reason_check', ['bounce', 'complaint', 'manual']);
}
