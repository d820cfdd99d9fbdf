import type { Knex } from 'knex';

/**
 * API keys (issue 12): other systems call /api/v1 with a key an administrator made. Only a keyed
 * hash of the key is stored (HMAC-SHA256 under the "api-keys" purpose key), so a leaked table
 * cannot be used to call the API. A key has a name (it is written in the audit log with every call,
 * C11), a non-empty set of scopes, and once revoked it stays revoked: the row is kept for the log.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE api_keys (
      id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
      scopes       text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'opt-out', 'suppress']),
      hint         text NOT NULL CHECK (hint ~ '^[A-Za-z0-9_-]{4,12}$'),
      secret_hash  text NOT NULL UNIQUE CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
      created_by   uuid NOT NULL REFERENCES staff_users (id),
      created_at   timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz,
      revoked_at   timestamptz,
      revoked_by   uuid REFERENCES staff_users (id),
      CONSTRAINT api_keys_revoked_by_whom CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
    );
    CREATE UNIQUE INDEX api_keys_live_name_idx ON api_keys (lower(btrim(name))) WHERE revoked_at IS NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE api_keys');
}
