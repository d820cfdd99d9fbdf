import type { Knex } from 'knex';

/**
 * The ledger is the history of every consent change; it is append-only, enforced by triggers
 * that refuse UPDATE, DELETE and TRUNCATE. It holds no IP and no free text (C10): who acted is
 * the source and channel, under which policy version (C8).
 *
 * C1 in the database: an opt-in to a third-party offer or partner data sharing is accepted only
 * from an explicit act of the member (sign-up box, preference page) or from staff citing the
 * member's own request. Imports, defaults and bulk actions cannot opt anyone in.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE consent_ledger (
      id                bigserial PRIMARY KEY,
      member_id         uuid NOT NULL REFERENCES members (id),
      topic_id          integer NOT NULL REFERENCES topics (id),
      from_status       text CHECK (from_status IN ('opted_in', 'opted_out')),
      to_status         text NOT NULL CHECK (to_status IN ('opted_in', 'opted_out')),
      source            text NOT NULL CHECK (source IN (
                          'signup', 'member_web', 'member_link', 'unsubscribe_link', 'one_click',
                          'staff', 'import', 'erasure', 'system')),
      channel           text NOT NULL CHECK (channel IN ('web', 'email', 'phone', 'post', 'system')),
      policy_version_id integer NOT NULL REFERENCES policy_versions (id),
      request_reference text CHECK (length(request_reference) <= 200),
      created_at        timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX consent_ledger_member_idx ON consent_ledger (member_id, created_at);
    CREATE INDEX consent_ledger_topic_idx ON consent_ledger (topic_id, created_at);

    CREATE FUNCTION consent_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'consent_ledger is append-only: % is not allowed', TG_OP USING ERRCODE = 'P0001';
    END $$;
    CREATE TRIGGER consent_ledger_no_update_delete
      BEFORE UPDATE OR DELETE ON consent_ledger
      FOR EACH ROW EXECUTE FUNCTION consent_ledger_append_only();
    CREATE TRIGGER consent_ledger_no_truncate
      BEFORE TRUNCATE ON consent_ledger
      FOR EACH STATEMENT EXECUTE FUNCTION consent_ledger_append_only();

    CREATE FUNCTION consent_ledger_explicit_third_party_opt_in() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      topic_kind text;
    BEGIN
      IF NEW.to_status <> 'opted_in' THEN
        RETURN NEW;
      END IF;
      SELECT kind INTO topic_kind FROM topics WHERE id = NEW.topic_id;
      IF topic_kind IN ('third_party_offer', 'partner_data_sharing') AND NOT (
           NEW.source IN ('signup', 'member_web', 'member_link')
           OR (NEW.source = 'staff' AND NEW.channel IN ('phone', 'post', 'email')
               AND NEW.request_reference IS NOT NULL AND length(trim(NEW.request_reference)) > 0)
         ) THEN
        RAISE EXCEPTION 'C1: an opt-in to a % topic needs an explicit act of the member (source %)',
          topic_kind, NEW.source USING ERRCODE = 'P0001';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER consent_ledger_explicit_third_party_opt_in
      BEFORE INSERT ON consent_ledger
      FOR EACH ROW EXECUTE FUNCTION consent_ledger_explicit_third_party_opt_in();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE consent_ledger;
    DROP FUNCTION consent_ledger_append_only();
    DROP FUNCTION consent_ledger_explicit_third_party_opt_in();
  `);
}
