export interface Answer {
  memberId: string;
  /** The HTTP status, or 'error' when no answer came (connection refused or reset). */
  status: number | 'error';
  /** Why no answer came: the error code (ECONNREFUSED, UND_ERR_SOCKET for a reset…). */
  error?: string;
  retryAfter: string | null;
  connection: string | null;
  body: string;
  startedAt: number;
  endedAt: number;
}

/** One one-click POST, and what came back. */
export async function oneClick(origin: string, path: string): Promise<{ status: number; connection: string | null }> {
  const res = await fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'List-Unsubscribe=One-Click',
    signal: AbortSignal.timeout(30000),
  });
  await res.text();
  return { status: res.status, connection: res.headers.get('connection') };
}

export interface Burst {
  answers: Answer[];
  /** Let each client finish the request it is making, then stop. */
  stop(): void;
  done: Promise<Answer[]>;
}

/**
 * RFC 8058 one-click POSTs as a mail provider sends them, from `concurrency` clients at once,
 * over keep-alive connections (fetch reuses them). Each member's link is used until it is
 * answered 200: a 503 puts it back at the end of the queue, as a provider retries later. Every
 * request and what came back (or that nothing did) is recorded.
 */
export function oneClickBurst(origin: string, links: { memberId: string; path: string }[], concurrency = 4, pauseMs = 50): Burst {
  const answers: Answer[] = [];
  const queue = [...links];
  let stopped = false;
  const client = async () => {
    for (let next = queue.shift(); next && !stopped; next = queue.shift()) {
      const startedAt = Date.now();
      try {
        const res = await fetch(`${origin}${next.path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'List-Unsubscribe=One-Click',
          signal: AbortSignal.timeout(30000),
        });
        if (res.status === 503) queue.push(next);
        answers.push({
          memberId: next.memberId,
          status: res.status,
          retryAfter: res.headers.get('retry-after'),
          connection: res.headers.get('connection'),
          body: await res.text(),
          startedAt,
          endedAt: Date.now(),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause;
        answers.push({
          memberId: next.memberId,
          status: 'error',
          error: cause?.code ?? String(err),
          retryAfter: null,
          connection: null,
          body: '',
          startedAt,
          endedAt: Date.now(),
        });
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, client)).then(() => answers);
  return {
    answers,
    stop: () => {
      stopped = true;
    },
    done,
  };
}
