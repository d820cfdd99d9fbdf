import type { Knex } from 'knex';

/**
 * Bringing an existing member list in (issue 14). An import is one uploaded file: its rows are
 * COPied raw into import_rows (a staging table, unlogged: it is rebuilt from the file, never the
 * record), checked set-based against the mapping, then applied in batches. The import's id is on
 * every member, ledger event and invitation it creates, so a whole import can be listed and undone.
 * The file itself is never kept: the staged rows are deleted when the import finishes or is
 * cancelled, and the audit log holds only counts and the file's name.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE imports (
      id                     serial PRIMARY KEY,
      staff_user_id          uuid NOT NULL REFERENCES staff_users (id),
      file_name              text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
      format                 text NOT NULL CHECK (format IN ('mailchimp', 'listmonk', 'plain', 'other')),
      headers                text[] NOT NULL,
      mapping                jsonb,
      status                 text NOT NULL DEFAULT 'mapping' CHECK (status IN (
                               'mapping', 'checked', 'applying', 'applied', 'cancelled', 'failed', 'undoing', 'undone')),
      mode                   text CHECK (mode IN ('evidence', 'ask')),
      evidence_where         text CHECK (length(evidence_where) <= 500),
      evidence_collected_on  text CHECK (length(evidence_collected_on) <= 100),
      evidence_reference     text CHECK (length(evidence_reference) <= 200),
      policy_version_id      integer REFERENCES policy_versions (id),
      rows_total             integer NOT NULL DEFAULT 0,
      counts                 jsonb NOT NULL DEFAULT '{}'::jsonb,
      rows_done              integer NOT NULL DEFAULT 0,
      applied_upto           integer NOT NULL DEFAULT 0,
      members_created        integer NOT NULL DEFAULT 0,
      invitations_created    integer NOT NULL DEFAULT 0,
      undo_counts            jsonb,
      error                  text CHECK (length(error) <= 1000),
      created_at             timestamptz NOT NULL DEFAULT now(),
      checked_at             timestamptz,
      started_at             timestamptz,
      finished_at            timestamptz,
      cancelled_at           timestamptz,
      undone_at              timestamptz,
      CONSTRAINT imports_evidence_named CHECK (
        mode IS DISTINCT FROM 'evidence'
        OR (evidence_where IS NOT NULL AND evidence_collected_on IS NOT NULL AND evidence_reference IS NOT NULL)
      )
    );
    CREATE INDEX imports_created_idx ON imports (created_at DESC);

    CREATE UNLOGGED TABLE import_rows (
      import_id      integer NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
      row_no         integer NOT NULL,
      fields         text[] NOT NULL,
      email          citext,
      name           text,
      postal_address text,
      phone          text,
      consented_at   timestamptz,
      opt_in         integer[] NOT NULL DEFAULT '{}',
      opt_out        integer[] NOT NULL DEFAULT '{}',
      outcome        text CHECK (outcome IN ('new', 'existing', 'error', 'suppressed', 'invited')),
      problem        text,
      PRIMARY KEY (import_id, row_no)
    );

    CREATE TABLE import_invitations (
      id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      import_id         integer NOT NULL REFERENCES imports (id),
      email             citext NOT NULL CHECK (length(email) <= 254),
      name              text CHECK (length(name) <= 200),
      postal_address    text CHECK (length(postal_address) <= 1000),
      phone             text CHECK (length(phone) <= 40),
      token_hash        text UNIQUE,
      email_message_id  uuid REFERENCES email_messages (id),
      mailed_at         timestamptz,
      expires_at        timestamptz,
      created_at        timestamptz NOT NULL DEFAULT now(),
      UNIQUE (import_id, email),
      CONSTRAINT import_invitations_mailed_has_token CHECK ((mailed_at IS NULL) = (token_hash IS NULL))
    );
    CREATE INDEX import_invitations_unmailed_idx ON import_invitations (import_id, id) WHERE mailed_at IS NULL;
    CREATE INDEX import_invitations_email_idx ON import_invitations (email);

    -- A date from a file, or NULL when it is not a real one (2019-02-30): the check reports it.
    -- Plain SQL, no exception block: a subtransaction per row would slow the check tenfold.
    -- (No question marks in here: knex would take them for bindings.)
    CREATE FUNCTION import_timestamp(v text) RETURNS timestamptz LANGUAGE sql STABLE AS $$
      -- CASE decides in order, so make_date and the offset's cast only see values already checked.
      SELECT CASE
        WHEN m IS NULL THEN NULL
        WHEN NOT (m[1]::int >= 1 AND m[2]::int BETWEEN 1 AND 12 AND coalesce(m[5]::int, 0) <= 23
                  AND coalesce(m[6]::int, 0) <= 59 AND coalesce(m[8]::numeric, 0) < 60) THEN NULL
        WHEN m[10] IS NOT NULL AND m[10] <> 'Z' AND substr(m[10], 2, 2)::int > 15 THEN NULL
        WHEN m[3]::int BETWEEN 1 AND extract(day FROM make_date(m[1]::int, m[2]::int, 1) + interval '1 month - 1 day')::int
        THEN v::timestamptz END
      FROM (SELECT regexp_match(v, '^(\\d{4})-(\\d{2})-(\\d{2})([ T](\\d{2}):(\\d{2})(:(\\d{2}(\\.\\d+){0,1})){0,1}){0,1} {0,1}(Z|[+-]\\d{2}(:{0,1}\\d{2}){0,1}){0,1}$') AS m) x
    $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE import_invitations; DROP TABLE import_rows; DROP TABLE imports; DROP FUNCTION import_timestamp(text)');
}
