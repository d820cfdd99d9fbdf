import type { Knex } from 'knex';

/**
 * The current state per member and topic: a projection of the ledger. Every row must point
 * at the ledger event that produced it (same member, topic and status), so the current state
 * cannot be changed without an entry in the append-only ledger, and the ledger's C1 rule
 * therefore holds for the current state as well.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE consents (
      member_id         uuid NOT NULL REFERENCES members (id),
      topic_id          integer NOT NULL REFERENCES topics (id),
      status            text NOT NULL CHECK (status IN ('opted_in', 'opted_out')),
      policy_version_id integer NOT NULL REFERENCES policy_versions (id),
      last_event_id     bigint NOT NULL REFERENCES consent_ledger (id),
      updated_at        timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (member_id, topic_id)
    );
    CREATE INDEX consents_topic_status_idx ON consents (topic_id, status);

    CREATE FUNCTION consents_match_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT EXISTS (
        SELECT 1 FROM consent_ledger e
        WHERE e.id = NEW.last_event_id AND e.member_id = NEW.member_id
          AND e.topic_id = NEW.topic_id AND e.to_status = NEW.status
          AND e.policy_version_id = NEW.policy_version_id
      ) THEN
        RAISE EXCEPTION 'consents must follow a matching consent_ledger event' USING ERRCODE = 'P0001';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER consents_match_ledger
      BEFORE INSERT OR UPDATE ON consents
      FOR EACH ROW EXECUTE FUNCTION consents_match_ledger();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE consents; DROP FUNCTION consents_match_ledger()');
}
