import type { Knex } from 'knex';

/**
 * C7: publishing a policy version sends its notice to every member with a deliverable address,
 * exactly once. The fan-out runs in batches through the job queue; each batch records here, in
 * the same transaction as the e-mails it queues, one row per member it handled. The primary key
 * makes a repeated batch (a job run twice, a worker restarted mid-way) a no-op for members
 * already handled. A member left out (address on the suppression list, C6, or no longer
 * deliverable) gets a row without a message, so the progress counts stay right when a batch runs again.
 *
 * policy_notice_runs holds one row per published version: how many members had an address at
 * publication, and when the last batch finished.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE policy_notice_runs (
      policy_version_id integer PRIMARY KEY REFERENCES policy_versions (id),
      members_to_notify integer NOT NULL CHECK (members_to_notify >= 0),
      started_at        timestamptz NOT NULL DEFAULT now(),
      finished_at       timestamptz
    );

    CREATE TABLE policy_notices (
      policy_version_id integer NOT NULL REFERENCES policy_notice_runs (policy_version_id),
      member_id         uuid NOT NULL REFERENCES members (id),
      email_message_id  uuid UNIQUE REFERENCES email_messages (id),
      left_out_reason   text CHECK (left_out_reason IN ('suppressed', 'not_deliverable')),
      created_at        timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (policy_version_id, member_id),
      CONSTRAINT policy_notices_message_or_reason CHECK (email_message_id IS NULL OR left_out_reason IS NULL)
    );

    CREATE FUNCTION policy_notice_runs_published_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM policy_versions WHERE id = NEW.policy_version_id AND published_at IS NOT NULL) THEN
        RAISE EXCEPTION 'C7: notices go out only for a published policy version' USING ERRCODE = 'P0001';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER policy_notice_runs_published_only
      BEFORE INSERT OR UPDATE ON policy_notice_runs
      FOR EACH ROW EXECUTE FUNCTION policy_notice_runs_published_only();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE policy_notices;
    DROP TABLE policy_notice_runs;
    DROP FUNCTION policy_notice_runs_published_only();
  `);
}
