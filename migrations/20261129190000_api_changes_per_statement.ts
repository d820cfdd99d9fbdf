import type { Knex } from 'knex';

/**
 * The change feed's triggers (20261129170300) fire once per statement instead of once per row,
 * reading the statement's rows from transition tables: an import's batch of 5,000 members and
 * 5,000 ledger events then adds its feed rows with two INSERT … SELECTs instead of 10,000 single
 * INSERTs. What they write is unchanged: the same kinds, for the same rows, in the same order
 * (ledger events by id), in the same transaction. A trigger with transition tables serves one
 * event only, so the members' trigger is split into one for INSERT and one for UPDATE.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER api_changes_from_ledger ON consent_ledger;
    DROP FUNCTION api_changes_from_ledger();
    DROP TRIGGER api_changes_from_members ON members;
    DROP FUNCTION api_changes_from_members();

    CREATE FUNCTION api_changes_from_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO api_changes (kind, member_id, ledger_id) SELECT 'consent', member_id, id FROM added ORDER BY id;
      RETURN NULL;
    END $$;
    CREATE TRIGGER api_changes_from_ledger AFTER INSERT ON consent_ledger
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION api_changes_from_ledger();

    CREATE FUNCTION api_changes_from_new_members() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO api_changes (kind, member_id) SELECT 'member.confirmed', id FROM added WHERE status = 'active';
      RETURN NULL;
    END $$;
    CREATE TRIGGER api_changes_from_new_members AFTER INSERT ON members
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION api_changes_from_new_members();

    CREATE FUNCTION api_changes_from_changed_members() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO api_changes (kind, member_id)
      SELECT CASE
               WHEN n.status = 'erased' AND o.status <> 'erased' THEN 'member.erased'
               WHEN n.status = 'active' AND o.status <> 'active' THEN 'member.confirmed'
               WHEN n.status = 'active' AND (n.email, n.name, n.postal_address, n.phone)
                    IS DISTINCT FROM (o.email, o.name, o.postal_address, o.phone) THEN 'member.details_changed'
             END AS kind, n.id
      FROM after_rows n JOIN before_rows o ON o.id = n.id
      WHERE (n.status = 'erased' AND o.status <> 'erased')
         OR (n.status = 'active' AND o.status <> 'active')
         OR (n.status = 'active' AND (n.email, n.name, n.postal_address, n.phone)
             IS DISTINCT FROM (o.email, o.name, o.postal_address, o.phone))
      ORDER BY n.id;
      RETURN NULL;
    END $$;
    CREATE TRIGGER api_changes_from_changed_members AFTER UPDATE ON members
      REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows
      FOR EACH STATEMENT EXECUTE FUNCTION api_changes_from_changed_members();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER api_changes_from_changed_members ON members;
    DROP FUNCTION api_changes_from_changed_members();
    DROP TRIGGER api_changes_from_new_members ON members;
    DROP FUNCTION api_changes_from_new_members();
    DROP TRIGGER api_changes_from_ledger ON consent_ledger;
    DROP FUNCTION api_changes_from_ledger();

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
  `);
}
