import type { Knex } from 'knex';

/**
 * Widens or narrows a CHECK (column IN (…)) list by reading the list the database holds now, so
 * migrations on parallel branches that each add a value (a ledger source, a suppression reason)
 * compose in any order instead of the later one dropping the earlier one's value.
 */
async function currentValues(knex: Knex, table: string, constraint: string): Promise<string[]> {
  const { rows } = await knex.raw<{ rows: { def: string }[] }>(
    `SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
     WHERE c.conname = ? AND c.conrelid = ?::regclass`,
    [constraint, table],
  );
  const def = rows[0]?.def;
  if (!def) throw new Error(`no constraint ${constraint} on ${table}`);
  return [...def.matchAll(/'([^']*)'::text/g)].map((m) => m[1]!);
}

async function rewrite(knex: Knex, table: string, column: string, constraint: string, values: string[]): Promise<void> {
  // DDL takes no bound parameters: the values are written as literals, so only plain words pass.
  for (const v of values) if (!/^[a-z][a-z_.-]*$/.test(v)) throw new Error(`not a plain value: ${v}`);
  const list = values.map((v) => `'${v}'`).join(', ');
  await knex.raw(`ALTER TABLE ?? DROP CONSTRAINT ??, ADD CONSTRAINT ?? CHECK (?? IN (${list}))`, [table, constraint, constraint, column]);
}

export async function addToCheckList(knex: Knex, table: string, column: string, constraint: string, added: string[]): Promise<void> {
  const values = await currentValues(knex, table, constraint);
  await rewrite(knex, table, column, constraint, [...values, ...added.filter((v) => !values.includes(v))]);
}

export async function removeFromCheckList(knex: Knex, table: string, column: string, constraint: string, removed: string[]): Promise<void> {
  const values = await currentValues(knex, table, constraint);
  await rewrite(
    knex,
    table,
    column,
    constraint,
    values.filter((v) => !removed.includes(v)),
  );
}
