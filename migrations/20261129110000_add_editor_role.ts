import type { Knex } from 'knex';

/**
 * A fourth staff role (C11, least privilege): an editor writes and sends bulletins and follows
 * their progress, and opens no member record. What each role may do is ADMIN_ROUTES; the database
 * only knows which roles exist.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE staff_users DROP CONSTRAINT staff_users_role_check;
    ALTER TABLE staff_users ADD CONSTRAINT staff_users_role_check CHECK (role IN ('admin', 'support', 'auditor', 'editor'));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE staff_users DROP CONSTRAINT staff_users_role_check;
    ALTER TABLE staff_users ADD CONSTRAINT staff_users_role_check CHECK (role IN ('admin', 'support', 'auditor'));
  `);
}
