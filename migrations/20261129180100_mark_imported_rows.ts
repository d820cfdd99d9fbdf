import type { Knex } from 'knex';

/**
 * Every member and ledger event an import creates carries its id, and an imported consent keeps
 * the date the file gives for it (consented_at; created_at stays the time it was recorded). The
 * evidence reference goes in request_reference; where and how consent was collected is free text
 * and stays on the import, not in the ledger (C10). Source `import` was allowed from the start,
 * and the C1 trigger already refuses it for third-party offers and partner sharing.
 *
 * The ledger stays append-only with one exception, decided here in the database: undoing an
 * import, within 7 days of its end, may delete the events that import created (the import is in
 * status `undoing` for exactly that transaction). Nothing else can delete a ledger event.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE members ADD COLUMN import_id integer REFERENCES imports (id);
    CREATE INDEX members_import_idx ON members (import_id) WHERE import_id IS NOT NULL;

    ALTER TABLE consent_ledger
      ADD COLUMN import_id integer REFERENCES imports (id),
      ADD COLUMN consented_at timestamptz,
      ADD CONSTRAINT consent_ledger_import_is_import_source CHECK (import_id IS NULL OR source = 'import'),
      ADD CONSTRAINT consent_ledger_consented_at_is_imported CHECK (consented_at IS NULL OR import_id IS NOT NULL);
    CREATE INDEX consent_ledger_import_idx ON consent_ledger (import_id, id) WHERE import_id IS NOT NULL;

    CREATE FUNCTION consent_ledger_append_only_but_undo() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' AND OLD.import_id IS NOT NULL AND EXISTS (
           SELECT 1 FROM imports i
           WHERE i.id = OLD.import_id AND i.status = 'undoing' AND i.finished_at > now() - interval '7 days'
         ) THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'consent_ledger is append-only: % is not allowed', TG_OP USING ERRCODE = 'P0001';
    END $$;
    DROP TRIGGER consent_ledger_no_update_delete ON consent_ledger;
    CREATE TRIGGER consent_ledger_no_update_delete
      BEFORE UPDATE OR DELETE ON consent_ledger
      FOR EACH ROW EXECUTE FUNCTION consent_ledger_append_only_but_undo();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER consent_ledger_no_update_delete ON consent_ledger;
    CREATE TRIGGER consent_ledger_no_update_delete
      BEFORE UPDATE OR DELETE ON consent_ledger
      FOR EACH ROW EXECUTE FUNCTION consent_ledger_append_only();
    DROP FUNCTION consent_ledger_append_only_but_undo();
    ALTER TABLE consent_ledger DROP COLUMN import_id, DROP COLUMN consented_at;
    ALTER TABLE members DROP COLUMN import_id;
  `);
}
