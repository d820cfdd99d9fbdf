import type { Knex } from 'knex';

/**
 * C6: carrying out a removal opens one follow-up per partner that ever received the member's data
 * (a disclosure_members row), open until staff mark it done. The database keeps the pair
 * done_at/done_by together and one follow-up per request and partner.
 *
 * Also in the database: a completed request has its completion time; an erased member row holds no
 * password hash either; and no opt-in can be recorded for an erased member, so no audience built
 * from consents can include them again.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE partner_follow_ups (
      id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      removal_request_id uuid NOT NULL REFERENCES removal_requests (id),
      partner_id         integer NOT NULL REFERENCES partners (id),
      created_at         timestamptz NOT NULL DEFAULT now(),
      done_at            timestamptz,
      done_by            uuid REFERENCES staff_users (id),
      CONSTRAINT partner_follow_ups_done_by_whom CHECK ((done_at IS NULL) = (done_by IS NULL)),
      CONSTRAINT partner_follow_ups_once UNIQUE (removal_request_id, partner_id)
    );
    CREATE INDEX partner_follow_ups_open_idx ON partner_follow_ups (created_at) WHERE done_at IS NULL;

    ALTER TABLE removal_requests ADD CONSTRAINT removal_requests_completed_has_time
      CHECK (status <> 'completed' OR completed_at IS NOT NULL);
    CREATE INDEX removal_requests_due_idx ON removal_requests (due_at) WHERE status = 'confirmed';

    ALTER TABLE members DROP CONSTRAINT members_erased_hold_no_personal_data;
    ALTER TABLE members ADD CONSTRAINT members_erased_hold_no_personal_data CHECK (
      status <> 'erased' OR (email IS NULL AND name IS NULL AND postal_address IS NULL AND phone IS NULL AND password_hash IS NULL)
    );

    CREATE FUNCTION consent_ledger_no_opt_in_after_erasure() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.to_status = 'opted_in' AND EXISTS (SELECT 1 FROM members WHERE id = NEW.member_id AND status = 'erased') THEN
        RAISE EXCEPTION 'C6: an erased member cannot be opted in' USING ERRCODE = 'P0001';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER consent_ledger_no_opt_in_after_erasure
      BEFORE INSERT ON consent_ledger
      FOR EACH ROW EXECUTE FUNCTION consent_ledger_no_opt_in_after_erasure();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER consent_ledger_no_opt_in_after_erasure ON consent_ledger;
    DROP FUNCTION consent_ledger_no_opt_in_after_erasure();
    ALTER TABLE members DROP CONSTRAINT members_erased_hold_no_personal_data;
    ALTER TABLE members ADD CONSTRAINT members_erased_hold_no_personal_data CHECK (
      status <> 'erased' OR (email IS NULL AND name IS NULL AND postal_address IS NULL AND phone IS NULL)
    );
    DROP INDEX removal_requests_due_idx;
    ALTER TABLE removal_requests DROP CONSTRAINT removal_requests_completed_has_time;
    DROP TABLE partner_follow_ups;
  `);
}
