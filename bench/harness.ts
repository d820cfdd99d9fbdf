/**
 * The shape every benchmark workload shares, and the one table `npm run bench` prints.
 *
 * A workload measures the app and its ceiling (the same work done by the bare tool: pgbench,
 * COPY, a bare Express render, a raw nodemailer pool) in the same run, alternating, `rounds`
 * times, so the ratio holds even when the shared machine's speed moves between runs.
 */

export interface BenchOptions {
  /** BENCH_QUICK=1: small sizes, the whole run in under two minutes. */
  quick: boolean;
  /** How many times the ceiling and the app are measured, alternating (3). */
  rounds: number;
}

/** One round: the ceiling, then the app, in the same unit (higher is better). */
export interface Round {
  ceiling: number;
  app: number;
  /** Latency of the app's requests in this round, where it applies (ms). */
  appP50?: number;
  appP99?: number;
  /** The ceiling's mean latency at the same concurrency (ms), for the "p99 ≤ 3× ceiling mean" target. */
  ceilingMeanMs?: number;
}

export interface WorkloadResult {
  /** e.g. "one-click unsubscribe, 16 connections" */
  workload: string;
  /** e.g. "pgbench, the app's own transaction" */
  ceiling: string;
  /** e.g. "req/s", "rows/s", "msg/s" */
  unit: string;
  /** The issue's target for app ÷ ceiling (median), e.g. 0.5. */
  target?: number;
  rounds: Round[];
  /** Checks made after the run (e.g. "16,000 ledger events, 16,000 e-mails: one each"), and anything else worth printing. */
  notes?: string[];
}

export interface Workload {
  name: string;
  run(options: BenchOptions): Promise<WorkloadResult[]>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The p-th percentile (0–100) of a list of latencies, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

function figure(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return '–';
  return n >= 100 ? Math.round(n).toLocaleString('en-GB') : n.toFixed(n >= 10 ? 1 : 2);
}

/** The table: one line per workload and round, then its median, ratio and target. */
export function formatTable(results: readonly WorkloadResult[]): string {
  const lines: string[] = [];
  const header = ['workload', 'ceiling', 'round', 'ceiling figure', 'app figure', 'app ÷ ceiling', 'app p50 / p99 ms', 'ceiling mean ms'];
  lines.push(`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`);
  for (const r of results) {
    r.rounds.forEach((round, i) => {
      const latency = round.appP50 === undefined ? '–' : `${figure(round.appP50)} / ${figure(round.appP99)}`;
      lines.push(
        `| ${i === 0 ? r.workload : ''} | ${i === 0 ? r.ceiling : ''} | ${i + 1} | ${figure(round.ceiling)} ${r.unit} | ${figure(round.app)} ${r.unit} | ${(round.app / round.ceiling).toFixed(2)} | ${latency} | ${figure(round.ceilingMeanMs)} |`,
      );
    });
    const ratio = median(r.rounds.map((x) => x.app / x.ceiling));
    const p99 = median(r.rounds.flatMap((x) => (x.appP99 === undefined ? [] : [x.appP99])));
    const verdict = r.target === undefined ? '' : ratio >= r.target ? ` (target ≥ ${r.target}: met)` : ` (target ≥ ${r.target}: NOT met)`;
    lines.push(
      `| | | **median** | ${figure(median(r.rounds.map((x) => x.ceiling)))} ${r.unit} | ${figure(median(r.rounds.map((x) => x.app)))} ${r.unit} | **${ratio.toFixed(2)}**${verdict} | ${Number.isNaN(p99) ? '–' : `p99 ${figure(p99)}`} | ${figure(median(r.rounds.flatMap((x) => (x.ceilingMeanMs === undefined ? [] : [x.ceilingMeanMs]))))} |`,
    );
  }
  for (const r of results) for (const note of r.notes ?? []) lines.push(`- ${r.workload}: ${note}`);
  return lines.join('\n');
}
