/**
 * Runs named workloads (bench/workloads/<name>.ts) and prints their table, until the runner
 * (npm run bench) takes them in:
 *
 *   node --import tsx bench/try.ts audience outbox bulletin     (BENCH_QUICK=1 for small sizes)
 */
import { cpus, loadavg } from 'node:os';
import { formatTable, type WorkloadResult } from './harness.js';
import type { Workload } from './harness.js';

const names = process.argv.slice(2);
if (names.length === 0) throw new Error('usage: node --import tsx bench/try.ts <workload>…');
const options = { quick: process.env.BENCH_QUICK === '1', rounds: 3 };
const results: WorkloadResult[] = [];
for (const name of names) {
  const { workload } = (await import(`./workloads/${name}.js`)) as { workload: Workload };
  results.push(...(await workload.run(options)));
}
console.log(
  `${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(formatTable(results));
