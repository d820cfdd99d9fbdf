import type { Knex } from 'knex';
import { addToCheckList, removeFromCheckList } from '../src/shared/check-lists.js';

/**
 * A complaint (the member marked our mail as spam, reported back by the sending service) opts the
 * member out of every topic; the ledger says so with its own source, 'complaint' (issue 12.4).
 * Like every source but the member's own acts and staff citing a request, it can only opt out:
 * the C1 trigger already refuses it an opt-in to a third-party topic, and this check refuses it
 * any opt-in at all.
 */
export async function up(knex: Knex): Promise<void> {
  // Added to the list the database holds, so the 'api' source of another migration is kept.
  await addToCheckList(knex, 'consent_ledger', 'source', 'consent_ledger_source_check', ['complaint']);
  await knex.raw(`
    ALTER TABLE consent_ledger ADD CONSTRAINT consent_ledger_complaint_only_opts_out
      CHECK (source <> 'complaint' OR to_status = 'opted_out');
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE consent_ledger DROP CONSTRAINT consent_ledger_complaint_only_opts_out');
  await removeFromCheckList(knex, 'consent_ledger', 'source', 'consent_ledger_source_check', ['complaint']);
}
