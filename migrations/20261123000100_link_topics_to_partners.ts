import type { Knex } from 'knex';

/**
 * C2: a third-party offer or partner data-sharing topic names a partner from the partners table
 * (where the contract on file is kept), not a free-text name. Existing names become partners
 * without a contract: nothing can be disclosed to them until staff record one.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE topics ADD COLUMN partner_id integer REFERENCES partners (id);
    INSERT INTO partners (name)
      SELECT DISTINCT partner_name FROM topics WHERE partner_name IS NOT NULL
      ON CONFLICT (name) DO NOTHING;
    UPDATE topics t SET partner_id = p.id FROM partners p WHERE p.name = t.partner_name;
    ALTER TABLE topics DROP CONSTRAINT topics_third_party_names_partner;
    ALTER TABLE topics DROP COLUMN partner_name;
    ALTER TABLE topics ADD CONSTRAINT topics_third_party_names_partner CHECK (
      kind NOT IN ('third_party_offer', 'partner_data_sharing') OR partner_id IS NOT NULL
    );
    CREATE INDEX topics_partner_idx ON topics (partner_id) WHERE partner_id IS NOT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE topics DROP CONSTRAINT topics_third_party_names_partner;
    ALTER TABLE topics ADD COLUMN partner_name text CHECK (length(partner_name) <= 200);
    UPDATE topics t SET partner_name = p.name FROM partners p WHERE p.id = t.partner_id;
    ALTER TABLE topics DROP COLUMN partner_id;
    ALTER TABLE topics ADD CONSTRAINT topics_third_party_names_partner CHECK (
      kind NOT IN ('third_party_offer', 'partner_data_sharing') OR partner_name IS NOT NULL
    );
  `);
}
