import type { Knex } from 'knex';

/**
 * An opt-out made from a bulletin's own unsubscribe link (or its List-Unsubscribe one-click)
 * records which bulletin it came from, so the bulletin's progress page counts it. The link says so
 * in its signed token; the ledger keeps a number, no free text (C10).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE consent_ledger
      ADD COLUMN via_bulletin_id integer REFERENCES bulletins (id),
      ADD CONSTRAINT consent_ledger_via_bulletin_is_opt_out CHECK (
        via_bulletin_id IS NULL OR (to_status = 'opted_out' AND source IN ('one_click', 'unsubscribe_link'))
      );
    CREATE INDEX consent_ledger_via_bulletin_idx ON consent_ledger (via_bulletin_id) WHERE via_bulletin_id IS NOT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE consent_ledger DROP COLUMN via_bulletin_id');
}
