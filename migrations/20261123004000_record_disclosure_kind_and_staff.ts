import type { Knex } from 'knex';

/**
 * C2 in the database. A disclosure is either given with consent ('consent') or required by law
 * ('legal', with its legal reference), and names the staff user who made it. The database
 * refuses:
 * - any disclosure to a partner without a contract on file (reference and terms date). This holds
 *   for legal disclosures too: "a partner without a contract on file cannot receive anything";
 *   an authority that compels a disclosure is recorded as a partner whose contract reference is
 *   the instrument it receives data under, so the member still sees the disclosure;
 * - a member in a consent disclosure who is not, at that moment, an active member opted in to a
 *   current partner data-sharing topic of that partner;
 * - changing or deleting a recorded disclosure: the record is permanent (a member's data page and
 *   the erasure follow-ups (C6) rely on it).
 * pgcrypto gives hmac(), so audience lists (C12) can leave suppressed addresses out in SQL.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE EXTENSION IF NOT EXISTS pgcrypto;

    ALTER TABLE disclosures
      ADD COLUMN kind text NOT NULL DEFAULT 'consent' CHECK (kind IN ('consent', 'legal')),
      ADD COLUMN staff_user_id uuid REFERENCES staff_users (id);
    UPDATE disclosures SET kind = 'legal' WHERE legal_reference IS NOT NULL;
    ALTER TABLE disclosures
      ADD CONSTRAINT disclosures_legal_reference_iff_legal CHECK (
        (kind = 'legal' AND legal_reference IS NOT NULL AND length(btrim(legal_reference)) > 0)
        OR (kind = 'consent' AND legal_reference IS NULL)
      ),
      -- Rows from before staff recorded disclosures have no staff user; every new one must.
      ADD CONSTRAINT disclosures_name_staff_user CHECK (staff_user_id IS NOT NULL) NOT VALID;
    CREATE INDEX disclosures_partner_idx ON disclosures (partner_id, created_at);

    CREATE FUNCTION disclosures_need_contract() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT EXISTS (
        SELECT 1 FROM partners p
        WHERE p.id = NEW.partner_id AND p.terms_date IS NOT NULL
          AND p.contract_reference IS NOT NULL AND length(btrim(p.contract_reference)) > 0
      ) THEN
        RAISE EXCEPTION 'C2: partner % has no contract on file; nothing can be disclosed to it', NEW.partner_id
          USING ERRCODE = 'P0001';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER disclosures_need_contract
      BEFORE INSERT ON disclosures
      FOR EACH ROW EXECUTE FUNCTION disclosures_need_contract();

    CREATE FUNCTION disclosure_members_consented() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      d_kind text;
      d_partner integer;
    BEGIN
      SELECT kind, partner_id INTO d_kind, d_partner FROM disclosures WHERE id = NEW.disclosure_id;
      IF d_kind = 'consent' AND NOT EXISTS (
        SELECT 1
        FROM consents c
        JOIN topics t ON t.id = c.topic_id
        JOIN members m ON m.id = c.member_id
        WHERE c.member_id = NEW.member_id AND c.status = 'opted_in' AND m.status = 'active'
          AND t.kind = 'partner_data_sharing' AND t.partner_id = d_partner AND t.retired_at IS NULL
      ) THEN
        RAISE EXCEPTION 'C2: member % is not opted in to sharing with partner %', NEW.member_id, d_partner
          USING ERRCODE = 'P0001';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER disclosure_members_consented
      BEFORE INSERT ON disclosure_members
      FOR EACH ROW EXECUTE FUNCTION disclosure_members_consented();

    CREATE FUNCTION disclosures_permanent() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'C2: % is a permanent record: % is not allowed', TG_TABLE_NAME, TG_OP USING ERRCODE = 'P0001';
    END $$;
    CREATE TRIGGER disclosures_permanent
      BEFORE UPDATE OR DELETE ON disclosures
      FOR EACH ROW EXECUTE FUNCTION disclosures_permanent();
    CREATE TRIGGER disclosures_permanent_truncate
      BEFORE TRUNCATE ON disclosures
      FOR EACH STATEMENT EXECUTE FUNCTION disclosures_permanent();
    CREATE TRIGGER disclosure_members_permanent
      BEFORE UPDATE OR DELETE ON disclosure_members
      FOR EACH ROW EXECUTE FUNCTION disclosures_permanent();
    CREATE TRIGGER disclosure_members_permanent_truncate
      BEFORE TRUNCATE ON disclosure_members
      FOR EACH STATEMENT EXECUTE FUNCTION disclosures_permanent();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER disclosure_members_permanent_truncate ON disclosure_members;
    DROP TRIGGER disclosure_members_permanent ON disclosure_members;
    DROP TRIGGER disclosures_permanent_truncate ON disclosures;
    DROP TRIGGER disclosures_permanent ON disclosures;
    DROP FUNCTION disclosures_permanent();
    DROP TRIGGER disclosure_members_consented ON disclosure_members;
    DROP FUNCTION disclosure_members_consented();
    DROP TRIGGER disclosures_need_contract ON disclosures;
    DROP FUNCTION disclosures_need_contract();
    DROP INDEX disclosures_partner_idx;
    ALTER TABLE disclosures
      DROP CONSTRAINT disclosures_name_staff_user,
      DROP CONSTRAINT disclosures_legal_reference_iff_legal,
      DROP COLUMN staff_user_id,
      DROP COLUMN kind;
  `);
}
