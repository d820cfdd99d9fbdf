import type { Knex } from 'knex';

/**
 * C7: a published version takes effect at least seven days after publication; the check lives
 * in the database so no code path can shorten the notice. C8: topics point at the version that
 * introduced their use. Published versions are frozen by a trigger.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE policy_versions (
      id            serial PRIMARY KEY,
      version       text NOT NULL UNIQUE CHECK (length(version) BETWEEN 1 AND 20),
      title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
      summary       text NOT NULL DEFAULT '',
      body          text NOT NULL,
      introduces_new_use boolean NOT NULL DEFAULT false,
      published_at  timestamptz,
      effective_at  timestamptz,
      created_at    timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT policy_versions_published_together
        CHECK ((published_at IS NULL) = (effective_at IS NULL)),
      CONSTRAINT policy_versions_seven_days_notice
        CHECK (effective_at IS NULL OR effective_at >= published_at + interval '7 days')
    );
    CREATE INDEX policy_versions_effective_idx ON policy_versions (effective_at);

    CREATE FUNCTION policy_versions_freeze_published() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        IF OLD.published_at IS NOT NULL THEN
          RAISE EXCEPTION 'policy version % is published and cannot be deleted', OLD.version
            USING ERRCODE = 'P0001';
        END IF;
        RETURN OLD;
      END IF;
      IF OLD.published_at IS NOT NULL THEN
        RAISE EXCEPTION 'policy version % is published and cannot be changed', OLD.version
          USING ERRCODE = 'P0001';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER policy_versions_freeze_published
      BEFORE UPDATE OR DELETE ON policy_versions
      FOR EACH ROW EXECUTE FUNCTION policy_versions_freeze_published();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE policy_versions; DROP FUNCTION policy_versions_freeze_published()');
}
