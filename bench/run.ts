/**
 * npm run bench — every workload next to its ceiling, alternating, three rounds, one table.
 *
 *   npm run bench                  all workloads (about fifteen minutes)
 *   BENCH_QUICK=1 npm run bench    small sizes, short rounds (under two minutes)
 *   npm run bench -- one-click     only the workloads named
 *
 * Uses DATABASE_URL if set (a throw-away database per workload is created and dropped there),
 * else an embedded PostgreSQL.
 */
import { formatTable, type BenchOptions, type Workload, type WorkloadResult } from './harness.js';
import { workload as audience } from './workloads/audience.js';
import { workload as bulletin } from './workloads/bulletin.js';
import { importWorkload } from './workloads/import.js';
import oneClick from './workloads/one-click.js';
import { workload as outbox } from './workloads/outbox.js';
import preferencePage from './workloads/preference-page.js';

/** Every workload, in the order they run. */
const WORKLOADS: Workload[] = [oneClick, preferencePage, audience, outbox, bulletin, importWorkload];

const only = process.argv.slice(2);
const unknown = only.filter((name) => !WORKLOADS.some((w) => w.name === name));
if (unknown.length) {
  console.error(`Unknown workload ${unknown.join(', ')}; there are: ${WORKLOADS.map((w) => w.name).join(', ')}`);
  process.exit(2);
}
const options: BenchOptions = { quick: process.env.BENCH_QUICK === '1', rounds: 3 };
const t0 = Date.now();
const results: WorkloadResult[] = [];
const took: string[] = [];
for (const workload of WORKLOADS.filter((w) => only.length === 0 || only.includes(w.name))) {
  process.stderr.write(`bench: ${workload.name}…\n`);
  const started = Date.now();
  results.push(...(await workload.run(options)));
  took.push(`${workload.name} ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
console.log(formatTable(results));
console.log(`\n${options.quick ? 'BENCH_QUICK=1, ' : ''}${((Date.now() - t0) / 1000).toFixed(0)} s in all (${took.join(', ')}).`);
process.exit(0);
