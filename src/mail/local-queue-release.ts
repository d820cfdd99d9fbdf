import type { WorkerEvents } from 'graphile-worker';

/**
 * graphile-worker 0.17.3's local queue cannot be released while it holds jobs: releasing sets it
 * RELEASED first and then hands the jobs back in the background, and "background" refuses any
 * work once the queue is RELEASED with nothing else in the background ("Cannot background
 * something when the queue is already released"). The release then fails, the runner's graceful
 * stop turns forceful, and the jobs it held stay locked until the heartbeat frees them.
 *
 * Holding one background slot of our own across the release lets the jobs go back as intended;
 * the slot ends right after, and the queue finishes once they are back. Only the queue's own
 * methods are used, and only when it has them: a version without the flaw is left alone.
 */
interface LocalQueueInternals {
  mode?: unknown;
  release?: () => Promise<void>;
  background?: (p: Promise<void>) => void;
}

export function mendLocalQueueRelease(events: WorkerEvents): void {
  events.on('localQueue:init', ({ localQueue }) => {
    const q = localQueue as unknown as LocalQueueInternals;
    const release = q.release?.bind(q);
    const background = q.background?.bind(q);
    if (!release || !background) return;
    q.release = () => {
      if (q.mode === 'RELEASED') return release();
      let end: () => void = () => {};
      background(new Promise<void>((resolve) => (end = resolve)));
      try {
        return release();
      } finally {
        end();
      }
    };
  });
}
