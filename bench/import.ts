/**
 * The import benchmark on its own: node --import tsx bench/import.ts (BENCH_QUICK=1 for 10,000
 * rows, BENCH_IMPORT_ROWS=N for another size). DATABASE_URL, if set, is where it runs.
 */
import { formatTable } from './harness.js';
import { importWorkload } from './workloads/import.js';

const quick = process.env.BENCH_QUICK === '1';
const results = await importWorkload.run({ quick, rounds: Number(process.env.BENCH_ROUNDS ?? 3) });
console.log(formatTable(results));
