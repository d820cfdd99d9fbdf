import type { Knex } from 'knex';

/**
 * The import check reads dates with one regular expression and fixed positions now
 * (src/imports/check.repository.ts): import_timestamp(), a SQL function PostgreSQL could not inline
 * and that ran its regular expression once per captured part, cost about 2.5 ms a row.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION import_timestamp(text)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
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
