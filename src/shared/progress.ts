/**
 * Progress of a long run (a policy notice fan-out, a bulletin's sending, an import) for a
 * `<progress>` bar: how much is done and, from the pace so far, when it should finish.
 */
export interface Progress {
  done: number;
  total: number;
  /** Whole percent, 0–100. */
  percent: number;
  finished: boolean;
  /** From the pace since the start; undefined until something is done or once finished. */
  remainingMs: number | undefined;
  finishEstimate: Date | undefined;
}

/** `estimate`, when given, replaces the pace-based finish (e.g. one computed from a send rate). */
export function progressOf(opts: {
  done: number;
  total: number;
  startedAt: Date;
  finishedAt?: Date | null;
  now?: Date;
  estimate?: Date | null;
}): Progress {
  const now = opts.now ?? new Date();
  const total = Math.max(opts.total, 0);
  const done = Math.min(Math.max(opts.done, 0), total);
  const finished = Boolean(opts.finishedAt) || done >= total;
  const elapsed = now.getTime() - opts.startedAt.getTime();
  let remainingMs: number | undefined;
  if (!finished && opts.estimate) remainingMs = Math.max(0, opts.estimate.getTime() - now.getTime());
  else if (!finished && done > 0 && elapsed > 0) remainingMs = ((total - done) * elapsed) / done;
  return {
    done,
    total,
    percent: total === 0 ? 100 : Math.floor((done * 100) / total),
    finished,
    remainingMs,
    finishEstimate: remainingMs === undefined ? undefined : new Date(now.getTime() + remainingMs),
  };
}
