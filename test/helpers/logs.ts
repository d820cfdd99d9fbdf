import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/shared/logger.js';

/** A logger whose every line is kept, parsed, for the test to read (in `lines`, when given). */
export function capturingLogger(
  level = 'info',
  lines: Record<string, unknown>[] = [],
): { logger: Logger; lines: Record<string, unknown>[] } {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger(level, false, sink), lines };
}
