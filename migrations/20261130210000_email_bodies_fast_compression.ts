import type { Knex } from 'knex';

/**
 * A message's HTML and text parts are stored compressed (TOAST, above about 2 kB); a bulletin's
 * snapshot writes thousands of them in a few seconds, and PostgreSQL's own pglz made that insert
 * the costliest statement of a bulletin (87 ms a batch of 500 copies of 7 kB; lz4: 50 ms, the
 * bulletin bench). lz4 where the server is built with it (PostgreSQL 14 or later with
 * --with-lz4, as Debian's and the official images are); elsewhere (the embedded server's build)
 * nothing changes. Only new values are written with it; what is stored reads the same either way.
 */
const HAS_LZ4 = `SELECT 'lz4' = ANY (enumvals) AS lz4 FROM pg_settings WHERE name = 'default_toast_compression'`;

async function hasLz4(knex: Knex): Promise<boolean> {
  const { rows } = await knex.raw<{ rows: { lz4: boolean | null }[] }>(HAS_LZ4);
  return rows[0]?.lz4 === true;
}

export async function up(knex: Knex): Promise<void> {
  if (!(await hasLz4(knex))) return;
  await knex.raw(`ALTER TABLE email_messages ALTER COLUMN html_body SET COMPRESSION lz4, ALTER COLUMN text_body SET COMPRESSION lz4`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(
    `ALTER TABLE email_messages ALTER COLUMN html_body SET COMPRESSION DEFAULT, ALTER COLUMN text_body SET COMPRESSION DEFAULT`,
  );
}
