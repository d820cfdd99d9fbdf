import type { Knex } from 'knex';

/**
 * C2: member data reaches a partner only through a recorded disclosure. The tables exist here so
 * a member's data page can show every disclosure; staff record them (with the staff screens).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE partners (
      id                 serial PRIMARY KEY,
      name               text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
      contract_reference text CHECK (length(contract_reference) <= 200),
      terms_date         date,
      created_at         timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE disclosures (
      id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      partner_id       integer NOT NULL REFERENCES partners (id),
      purpose          text NOT NULL CHECK (length(purpose) BETWEEN 1 AND 500),
      legal_reference  text CHECK (length(legal_reference) <= 500),
      created_at       timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE disclosure_members (
      disclosure_id uuid NOT NULL REFERENCES disclosures (id),
      member_id     uuid NOT NULL REFERENCES members (id),
      PRIMARY KEY (disclosure_id, member_id)
    );
    CREATE INDEX disclosure_members_member_idx ON disclosure_members (member_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE disclosure_members; DROP TABLE disclosures; DROP TABLE partners');
}
