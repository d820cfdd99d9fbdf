import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import pg from 'pg';

/** One statement as knex ran it ($n placeholders) with its bindings. */
export interface CapturedQuery {
  sql: string;
  bindings: readonly unknown[];
}

function literal(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Date) return `'${v.toISOString()}'`;
  if (Array.isArray(v)) return `ARRAY[${v.map(literal).join(', ')}]`;
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v as string);
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * The statements of one request as a pgbench script: bindings inlined, the member replaced by a
 * pgbench variable (a random member of `members`), and any other uuid bound by the app (an
 * e-mail's id) by a fresh one per transaction, so unique keys hold.
 */
export function pgbenchScript(
  queries: readonly CapturedQuery[],
  member: { id: string; sql: (variable: string) => string; first: number; last: number },
): string {
  const uuids = new Set<string>();
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  for (const q of queries) for (const b of q.bindings) if (typeof b === 'string' && uuid.test(b) && b !== member.id) uuids.add(b);
  const lines = [`\\set bench_member random(${member.first}, ${member.last})`];
  [...uuids].forEach((_u, i) => lines.push(`SELECT gen_random_uuid() AS bench_uuid${i} \\gset`));
  for (const q of queries) {
    let text = q.sql.replace(/\$(\d+)/g, (_m, n: string) => {
      const b = q.bindings[Number(n) - 1];
      return b === member.id ? member.sql(':bench_member') : literal(b);
    });
    // pgbench reads "::name" as a cast, so a uuid after a colon ('email:<uuid>') is spliced in.
    [...uuids].forEach((u, i) => (text = text.split(`:${u}`).join(`:'||':bench_uuid${i}'||'`).split(u).join(`:bench_uuid${i}`)));
    lines.push(`${text.trim().replace(/;$/, '')};`);
  }
  return lines.join('\n') + '\n';
}

export interface CeilingRun {
  perSecond: number;
  meanMs: number;
  failed: number;
}

export function havePgbench(): boolean {
  try {
    execFileSync('pgbench', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * pgbench running the script at this many clients for this long (simple protocol). On a loaded
 * machine opening 64 connections can eat a short run whole: then it runs again, longer.
 */
export async function runPgbench(url: string, scriptFile: string, clients: number, seconds: number): Promise<CeilingRun> {
  for (let factor = 1; ; factor *= 2) {
    try {
      return await pgbenchOnce(url, scriptFile, clients, seconds * factor);
    } catch (err) {
      if (factor >= 4) throw err;
    }
  }
}

function pgbenchOnce(url: string, scriptFile: string, clients: number, seconds: number): Promise<CeilingRun> {
  const u = new URL(url);
  const args = ['-n', '-M', 'simple', '-c', String(clients), '-j', '2', '-T', String(seconds), '-f', scriptFile];
  args.push('-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username || 'postgres'), u.pathname.slice(1));
  return new Promise((resolve, reject) => {
    execFile(
      'pgbench',
      args,
      { env: { ...process.env, PGPASSWORD: decodeURIComponent(u.password) }, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
        const latency = /latency average = ([\d.]+) ms/.exec(stdout);
        if (!tps || !latency || Number(tps[1]) === 0)
          return reject(new Error(`pgbench failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`));
        const failed = /number of failed transactions: (\d+)/.exec(stdout);
        resolve({ perSecond: Number(tps[1]), meanMs: Number(latency[1]), failed: Number(failed?.[1] ?? 0) });
      },
    );
  });
}

/** Without pgbench: the same script's statements through a bare pg pool, one client per connection. */
export async function runBarePool(url: string, script: string, clients: number, seconds: number): Promise<CeilingRun> {
  const lines = script.split(/;\n/).map((s) => s.trim());
  const range = /random\((\d+), (\d+)\)/.exec(lines[0]!)!;
  const statements = script
    .split('\n')
    .slice(1)
    .join('\n')
    .split(/;\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  const until = Date.now() + seconds * 1000;
  let done = 0;
  let failed = 0;
  let busyMs = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      while (Date.now() < until) {
        const vars: Record<string, string> = {
          bench_member: String(Number(range[1]) + Math.floor(Math.random() * (Number(range[2]) - Number(range[1]) + 1))),
        };
        const t0 = performance.now();
        try {
          for (const s of statements) {
            const gset = /^(.*) \\gset$/s.exec(s);
            const text = (gset ? gset[1]! : s).replace(/:(bench_[a-z0-9_]+)/g, (_m, v: string) => vars[v] ?? _m);
            const result = await client.query(text);
            if (gset) Object.assign(vars, result.rows[0] as Record<string, string>);
          }
          done++;
        } catch {
          failed++;
          await client.query('ROLLBACK').catch(() => {});
        }
        busyMs += performance.now() - t0;
      }
      await client.end();
    }),
  );
  return { perSecond: done / seconds, meanMs: busyMs / Math.max(1, done + failed), failed };
}

export function writeScript(file: string, script: string): string {
  writeFileSync(file, script);
  return file;
}
