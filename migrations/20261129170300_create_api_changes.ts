import type { Knex } from 'knex';

/**
 * The change feed that GET /api/v1/changes reads (issue 12): every consent event, member
 * confirmation, details change and erasure, written by triggers so that no feature has to know
 * about the feed and no change can miss it. Rows hold ids only, never personal data (C10).
 *
 * Each row records the id of the transaction that wrote it (tx). A poller's cursor is a position
 * (tx, id), and a read returns only rows of transactions older than every transaction of this
 * database still running: those are all committed and visible, and any row committed later has a
 * greater tx, so a cursor never moves past a row that was not yet visible (the read is in
 * src/integrations/api.repository.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE api_changes (
      id         bigserial PRIMARY KEY,
      tx         xid8 NOT NULL DEFAULT pg_current_xact_id(),
      kind       text NOT NULL CHECK (kind IN ('consent', 'member.confirmed', 'member.details_changed', 'member.erased')),
      member_id  uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
      ledger_id  bigint REFERENCES consent_ledger (id) ON DELETE CASCADE, -- an undone import takes its events, and their changes, with it
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT api_changes_consent_has_event CHECK ((kind = 'consent') = (ledger_id IS NOT NULL))
    );
    CREATE INDEX api_changes_position_idx ON api_changes (tx, id);

    CREATE FUNCTION api_changes_from_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO api_changes (kind, member_id, ledger_id) VALUES ('consent', NEW.member_id, NEW.id);
      RETURN NULL;
    END $$;
    CREATE TRIGGER api_changes_from_ledger AFTER INSERT ON consent_ledger
      FOR EACH ROW EXECUTE FUNCTION api_changes_from_ledger();

    CREATE FUNCTION api_changes_from_members() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        IF NEW.status = 'active' THEN
          INSERT INTO api_changes (kind, member_id) VALUES ('member.confirmed', NEW.id);
        END IF;
      ELSIF NEW.status = 'erased' AND OLD.status <> 'erased' THEN
        INSERT INTO api_changes (kind, member_id) VALUES ('member.erased', NEW.id);
      ELSIF NEW.status = 'active' AND OLD.status <> 'active' THEN
        INSERT INTO api_changes (kind, member_id) VALUES ('member.confirmed', NEW.id);
      ELSIF NEW.status = 'active' AND (NEW.email, NEW.name, NEW.postal_address, NEW.phone)
            IS DISTINCT FROM (OLD.email, OLD.name, OLD.postal_address, OLD.phone) THEN
        INSERT INTO api_changes (kind, member_id) VALUES ('member.details_changed', NEW.id);
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER api_changes_from_members AFTER INSERT OR UPDATE ON members
      FOR EACH ROW EXECUTE FUNCTION api_changes_from_members();

    -- What happened before the feed existed, in the order it happened.
    INSERT INTO api_changes (kind, member_id, created_at)
      SELECT 'member.confirmed', id, coalesce(confirmed_at, created_at) FROM members
      WHERE confirmed_at IS NOT NULL ORDER BY coalesce(confirmed_at, created_at), id;
    INSERT INTO api_changes (kind, member_id, ledger_id, created_at)
      SELECT 'consent', member_id, id, created_at FROM consent_ledger ORDER BY id;
    INSERT INTO api_changes (kind, member_id, created_at)
      SELECT 'member.erased', id, coalesce(erased_at, updated_at) FROM members WHERE status = 'erased' ORDER BY id;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER api_changes_from_members ON members;
    DROP FUNCTION api_changes_from_members();
    DROP TRIGGER api_changes_from_ledger ON consent_ledger;
    DROP FUNCTION api_changes_from_ledger();
    DROP TABLE api_changes;
  `);
}
