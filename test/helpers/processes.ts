import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

export type LogLine = Record<string, unknown> & { level?: number; event?: string };

/**
 * The arguments for `process.execPath` that run one of our TypeScript files (an entry point such
 * as src/server.ts, or a helper script) as a process of its own: the copy compiled by the global
 * setup (test/helpers/build.mjs), run by plain node as the image runs dist/src/server.js.
 */
export function nodeArgs(file: string, ...args: string[]): string[] {
  const build = process.env.ASSENT_TEST_BUILD;
  if (!build) throw new Error('ASSENT_TEST_BUILD is not set: run the tests through jest (global setup)');
  return [path.join(build, file.replace(/\.ts$/, '.js')), ...args];
}

/** A real Assent process (src/server.ts or src/worker.ts), run as the image runs it (`node dist/src/server.js`). */
export interface AppProcess {
  child: ChildProcess;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** The structured log lines printed so far. */
  logs(): LogLine[];
  exited: Promise<number | null>;
  /** True until the process has exited. */
  running(): boolean;
  waitForLog(match: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM, then the exit code; SIGKILL if it does not end within the time given. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export function startProcess(entry: 'src/server.ts' | 'src/worker.ts', env: Record<string, string>): AppProcess {
  let out = '';
  let code: number | null | undefined;
  const child = spawn(process.execPath, nodeArgs(entry), {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Each structured line is parsed once, as it completes: the waits below look at them every 50 ms,
  // and a busy process prints thousands.
  const parsed: LogLine[] = [];
  const partial = { stdout: '', stderr: '' };
  const collect = (stream: 'stdout' | 'stderr') => (d: Buffer) => {
    const text = d.toString();
    out += text;
    const lines = (partial[stream] + text).split('\n');
    partial[stream] = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        parsed.push(JSON.parse(line) as LogLine);
      } catch {
        // Not a log line.
      }
    }
  };
  child.stdout?.on('data', collect('stdout'));
  child.stderr?.on('data', collect('stderr'));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (c, signal) => {
      code = c ?? (signal ? null : c);
      resolve(code);
    }),
  );
  const logs = (): LogLine[] => [...parsed];
  const proc: AppProcess = {
    child,
    output: () => out,
    logs,
    exited,
    running: () => code === undefined,
    async waitForLog(match, what, timeoutMs = 60000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = parsed.find(match);
        if (found) return found;
        if (code !== undefined) throw new Error(`the process exited (${String(code)}) before ${what}:\n${out.slice(-4000)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${out.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(timeoutMs = 30000) {
      if (code !== undefined) return code;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  return proc;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Polls until check() gives a value; the interval is short, the patience long (a loaded machine). */
export async function eventually<T>(check: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 60000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `npm start` on a free port. A port found free can be taken by another process before the
 * server binds it (other test runs share the machine): then it tries another.
 */
export async function startWebProcess(env: Record<string, string>): Promise<{ web: AppProcess; origin: string }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const web = startProcess('src/server.ts', { ...env, PORT: String(port) });
    try {
      await web.waitForLog((l) => l.event === 'server.started', 'the web process to start');
      return { web, origin: `http://127.0.0.1:${port}` };
    } catch (err) {
      if (attempt >= 3 || !web.output().includes('EADDRINUSE')) throw err;
    }
  }
}
