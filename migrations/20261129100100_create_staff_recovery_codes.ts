import type { Knex } from 'knex';

/**
 * C11: each staff user gets ten single-use recovery codes when they set up two-factor sign-in,
 * for the day their authenticator device is lost. Only a keyed hash of each code is stored (the
 * key is not in the database); a used code is marked, never reused; resetting two-factor or a
 * new enrolment replaces the set.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE staff_recovery_codes (
      id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      staff_user_id  uuid NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
      code_hash      text NOT NULL UNIQUE CHECK (code_hash ~ '^[0-9a-f]{64}$'),
      used_at        timestamptz,
      created_at     timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX staff_recovery_codes_staff_idx ON staff_recovery_codes (staff_user_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE staff_recovery_codes');
}
