import type { Knex } from 'knex';

/** How often a topic is sent ("Monthly", "A few times a year"), as the preference page tells members. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE topics ADD COLUMN frequency text NOT NULL DEFAULT '' CHECK (length(frequency) <= 80)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE topics DROP COLUMN frequency');
}
