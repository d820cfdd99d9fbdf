import type { Knex } from 'knex';

/**
 * Staff accounts (C11): argon2id password hashes, optional TOTP (required for admins by the app),
 * and a role that decides what each may see. The audit log records what staff did; like the
 * consent ledger it is append-only, enforced by triggers that refuse UPDATE, DELETE and TRUNCATE.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE staff_users (
      id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email           citext NOT NULL UNIQUE CHECK (length(email) <= 254),
      name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      role            text NOT NULL CHECK (role IN ('admin', 'support', 'auditor')),
      password_hash   text NOT NULL,
      totp_secret     text,
      totp_enabled_at timestamptz,
      disabled_at     timestamptz,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      CHECK (totp_enabled_at IS NULL OR totp_secret IS NOT NULL)
    );

    CREATE TABLE audit_log (
      id            bigserial PRIMARY KEY,
      staff_user_id uuid REFERENCES staff_users (id),
      action        text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
      member_id     uuid REFERENCES members (id),
      details       jsonb NOT NULL DEFAULT '{}',
      created_at    timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX audit_log_created_idx ON audit_log (created_at DESC, id DESC);
    CREATE INDEX audit_log_action_idx ON audit_log (action, created_at DESC);
    CREATE INDEX audit_log_member_idx ON audit_log (member_id, created_at) WHERE member_id IS NOT NULL;

    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'P0001';
    END $$;
    CREATE TRIGGER audit_log_no_update_delete
      BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
    CREATE TRIGGER audit_log_no_truncate
      BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE audit_log;
    DROP FUNCTION audit_log_append_only();
    DROP TABLE staff_users;
  `);
}
