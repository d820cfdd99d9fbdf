import type { Knex } from 'knex';

/**
 * Job runners that are alive say so here. graphile-worker locks a job with its worker pool's id
 * and only gives it to another runner after four hours; each runner writes its pool id and
 * refreshes last_beat_at every few seconds (WORKER_HEARTBEAT_SECONDS), and any runner unlocks
 * the jobs of a pool that has not beaten for WORKER_STALE_SECONDS (graphile-worker's
 * force_unlock_workers), so a job held by a runner that died runs again within about a minute.
 * Times are the database's own clock, so runners on machines with skewed clocks agree.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE worker_heartbeats (
      worker_id    text PRIMARY KEY,
      host         text NOT NULL,
      pid          integer NOT NULL,
      started_at   timestamptz NOT NULL DEFAULT now(),
      last_beat_at timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE worker_heartbeats;`);
}
