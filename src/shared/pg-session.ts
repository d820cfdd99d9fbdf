import type pg from 'pg';
import type { DatabaseSessionConfig } from '../config.types.js';

/** The pg client settings this adds (pg.ClientConfig's names). */
export interface PgSessionOptions {
  keepAlive?: boolean;
  keepAliveInitialDelayMillis?: number;
  idle_in_transaction_session_timeout?: number;
  options?: string;
}

/** Keepalive probes PostgreSQL sends before it gives a silent client up. */
const SERVER_KEEPALIVE_PROBES = 3;

/**
 * The connection settings of every PostgreSQL session a process opens (the knex pool, the session
 * store's pool, the job runner's pool and its heartbeat), so that a peer that vanished costs
 * seconds, not hours:
 *
 * - idle_in_transaction_session_timeout: PostgreSQL ends a session that sits inside a transaction
 *   without sending anything for this long, rolling it back and releasing its row locks. A worker
 *   whose machine vanished (or whose network was cut, or that is frozen) in the middle of a batch's
 *   transaction would otherwise keep that batch's rows locked, and the batch's re-run would wait on
 *   them until the kernel gave the dead connection up (about two hours and a quarter with Linux's
 *   TCP defaults). No session of Assent waits on anything outside PostgreSQL inside a transaction:
 *   streaming exports and imports keep their statement running (COPY, a cursor), which this
 *   timeout does not touch.
 * - TCP keepalive on both ends: the client (pg's keepAlive) notices a server that vanished, and
 *   PostgreSQL (tcp_keepalives_idle / _interval / _count, sent as session options) notices a
 *   client that vanished while its connection was quiet, after about 2.5 × the idle time.
 *
 * They are sent as startup parameters; a setting of the same name in DATABASE_URL takes precedence
 * (pg reads the URL last). A connection pooler in between must pass them on (PgBouncer: not listed
 * in ignore_startup_parameters).
 */
export function pgSessionOptions(s: DatabaseSessionConfig | undefined): PgSessionOptions {
  if (!s) return {};
  const interval = Math.max(1, Math.round(s.keepAliveSeconds / 2));
  return {
    keepAlive: true,
    keepAliveInitialDelayMillis: s.keepAliveSeconds * 1000,
    ...(s.idleInTransactionSeconds > 0 ? { idle_in_transaction_session_timeout: s.idleInTransactionSeconds * 1000 } : {}),
    options: [
      `-c tcp_keepalives_idle=${s.keepAliveSeconds}`,
      `-c tcp_keepalives_interval=${interval}`,
      `-c tcp_keepalives_count=${SERVER_KEEPALIVE_PROBES}`,
    ].join(' '),
  };
}

/**
 * Gives a pool handed to graphile-worker the listeners it asks for: the pool's own (an idle
 * client's error) and each client's (a checked-out client's error), so neither ends the process.
 */
export function handlePoolErrors(pool: pg.Pool, onError: (err: Error) => void): void {
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
}
