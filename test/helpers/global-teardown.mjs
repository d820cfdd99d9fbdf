import { rm } from 'node:fs/promises';
import pg from 'pg';

export default async function globalTeardown() {
  const state = globalThis.__assentTest;
  if (!state) return;
  await state.browser?.close();
  await rm(state.build, { recursive: true, force: true });
  if (state.embedded) {
    await state.embedded.stop();
    return;
  }
  // On a shared server, remove what this run created: the template and any leftover clones.
  const admin = new pg.Client({ connectionString: state.adminUrl });
  await admin.connect();
  const suffix = state.template.replace('assent_tpl_', '');
  const { rows } = await admin.query(`SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`, [
    state.template,
    `assent_t_${suffix}_%`,
  ]);
  for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
  await admin.end();
}
