import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BENCH_SECRET = 'bench-secret-key-0123456789abcdefghijklmnop';
export const BENCH_BASE_URL = 'https://bench.example';

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface Child {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Starts a TypeScript entry point in its own Node process and waits for `ready` on its stdout. */
export async function startNode(entry: string, env: Record<string, string>, ready: string, args: string[] = []): Promise<Child> {
  const port = Number(env.PORT ?? (await freePort()));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []),
      '--import',
      'tsx',
      path.join(ROOT, entry),
      ...args,
    ],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start in 180 s:\n${output}`)), 180000);
    const look = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code}:\n${output}`));
    });
  });
  // Keep reading so a full pipe never blocks the child; say anything it writes to stderr (pg warnings).
  child.stdout!.resume();
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(`[${path.basename(entry)}] ${chunk.toString()}`));
  return {
    port,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The production configuration the benchmarks run the app with, against the benchmark database. */
export function benchAppEnv(databaseUrl: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    // Never connected to: the job runner is off, so queued e-mails stay queued and are counted.
    SMTP_URL: 'smtp://127.0.0.1:9',
    SECRET_KEYS: BENCH_SECRET,
    BASE_URL: BENCH_BASE_URL,
    ORG_ADDRESS: '1 Bench Street, Benchtown',
    TRUST_PROXY: 'loopback',
  };
}

/** The real server (src/server.ts) in production mode against the benchmark database, without a job runner. */
export function startApp(databaseUrl: string, extra: Record<string, string> = {}): Promise<Child> {
  // Request logs off: the bare ceilings log nothing either.
  return startNode('src/server.ts', { ...benchAppEnv(databaseUrl), RUN_WORKER: 'false', LOG_LEVEL: 'warn', ...extra }, 'Assent is running');
}

/** Behind the proxy that ends TLS: the app refuses plain HTTP in production (C11). */
export const HTTPS_PROXIED = { 'x-forwarded-proto': 'https' };

/**
 * CPU time a process has used so far, in ms (Linux: /proc/PID/stat, user + system, at the kernel's
 * 100 ticks a second); undefined elsewhere. Per request it varies far less from run to run on a
 * shared machine than requests per second do.
 */
export function cpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
