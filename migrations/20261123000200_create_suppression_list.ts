import type { Knex } from 'knex';

/**
 * C6: after erasure only a keyed hash of the address is kept, so the address is never mailed,
 * signed up or imported again unless its owner confirms afresh. The key is the app's secret
 * (SECRET_KEYS): a leaked table cannot be reversed by hashing guesses without it.
 * C12: an address that bounced for good is not deliverable; audiences leave it out.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE suppression_list (
      address_hash text PRIMARY KEY CHECK (address_hash ~ '^[0-9a-f]{64}$'),
      reason       text NOT NULL CHECK (reason IN ('erased')),
      created_at   timestamptz NOT NULL DEFAULT now()
    );
    ALTER TABLE members ADD COLUMN email_undeliverable_at timestamptz;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE suppression_list; ALTER TABLE members DROP COLUMN email_undeliverable_at');
}
