import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export type LogLine = Record<string, unknown> & { level?: number; event?: string };

/** A real Assent process (src/server.ts or src/worker.ts), started as `npm start` / `npm run worker` do. */
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
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (c, signal) => {
      code = c ?? (signal ? null : c);
      resolve(code);
    }),
  );
  const logs = (): LogLine[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as LogLine];
        } catch {
          return [];
        }
      });
  const proc: AppProcess = {
    child,
    output: () => out,
    logs,
    exited,
    running: () => code === undefined,
    async waitForLog(match, what, timeoutMs = 60000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = logs().find(match);
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
