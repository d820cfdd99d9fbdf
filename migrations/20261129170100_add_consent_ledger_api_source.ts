import type { Knex } from 'knex';
import { addToCheckList, removeFromCheckList } from '../src/shared/check-lists.js';

/**
 * Opt-outs recorded by another system through the REST API (issue 12): ledger source 'api', and
 * the key that did it (its name is the channel detail shown with the event). C1 in the database:
 * an 'api' event is always an opt-out, so no key, however scoped, can opt anyone in.
 */
export async function up(knex: Knex): Promise<void> {
  await addToCheckList(knex, 'consent_ledger', 'source', 'consent_ledger_source_check', ['api']);
  await knex.raw(`
    ALTER TABLE consent_ledger
      ADD COLUMN api_key_id uuid REFERENCES api_keys (id),
      ADD CONSTRAINT consent_ledger_api_is_opt_out CHECK (source <> 'api' OR to_status = 'opted_out'),
      ADD CONSTRAINT consent_ledger_api_names_key CHECK ((source = 'api') = (api_key_id IS NOT NULL));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE consent_ledger DROP COLUMN api_key_id');
  await removeFromCheckList(knex, 'consent_ledger', 'source', 'consent_ledger_source_check', ['api']);
}
