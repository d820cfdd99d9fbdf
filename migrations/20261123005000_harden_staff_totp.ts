import type { Knex } from 'knex';

/**
 * C11: a staff user's TOTP secret is stored encrypted (AES-256-GCM with a key derived from
 * SECRET_KEYS; the app writes "v1.<iv>.<ciphertext>.<tag>"), and a code is accepted once only:
 * totp_last_step remembers the last accepted RFC 6238 time step, and only a later step signs in.
 * The database refuses a secret that is not in the encrypted form. Nothing can encrypt here
 * (the key is not in the database), so an account enrolled before this migration with a secret
 * in clear is reset to "two-factor not set up": its admin enrols again at the next sign-in, which
 * the app requires before anything else.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE staff_users SET totp_secret = NULL, totp_enabled_at = NULL, updated_at = now()
      WHERE totp_secret IS NOT NULL AND totp_secret !~ '^v1\\.';
    ALTER TABLE staff_users ADD COLUMN totp_last_step bigint CHECK (totp_last_step >= 0);
    ALTER TABLE staff_users ADD CONSTRAINT staff_users_totp_secret_encrypted
      CHECK (totp_secret IS NULL OR totp_secret ~ '^v1\\.[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{22}$');
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE staff_users DROP CONSTRAINT staff_users_totp_secret_encrypted;
    ALTER TABLE staff_users DROP COLUMN totp_last_step;
  `);
}
