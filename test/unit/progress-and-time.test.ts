import { describe, expect, it } from '@jest/globals';
import { progressOf } from '../../src/shared/progress.js';
import { formatDateTime, formatDay, formatDuration, formatStamp, isTimeZone } from '../../src/shared/time.js';

describe('progress of a long run', () => {
  const startedAt = new Date('2026-11-29T12:00:00Z');
  const now = new Date('2026-11-29T12:01:00Z');

  it('estimates the finish from the pace so far', () => {
    const p = progressOf({ done: 25, total: 100, startedAt, now });
    expect(p).toMatchObject({ done: 25, total: 100, percent: 25, finished: false, remainingMs: 180_000 });
    expect(p.finishEstimate?.toISOString()).toBe('2026-11-29T12:04:00.000Z');
  });

  it('takes an estimate computed elsewhere (a send rate) over the pace so far', () => {
    const estimate = new Date('2026-11-29T13:00:00Z');
    expect(progressOf({ done: 25, total: 100, startedAt, now, estimate })).toMatchObject({
      remainingMs: 59 * 60_000,
      finishEstimate: estimate,
    });
    expect(progressOf({ done: 0, total: 100, startedAt, now, estimate }).finishEstimate).toEqual(estimate);
  });

  it('gives no estimate before anything is done, and none once finished', () => {
    expect(progressOf({ done: 0, total: 100, startedAt, now })).toMatchObject({ percent: 0, finished: false, finishEstimate: undefined });
    expect(progressOf({ done: 100, total: 100, startedAt, now })).toMatchObject({
      percent: 100,
      finished: true,
      finishEstimate: undefined,
    });
    expect(progressOf({ done: 3, total: 10, startedAt, now, finishedAt: now })).toMatchObject({
      finished: true,
      finishEstimate: undefined,
    });
  });

  it('treats an empty run as complete and never reports more done than there is', () => {
    expect(progressOf({ done: 0, total: 0, startedAt, now })).toMatchObject({ percent: 100, finished: true });
    expect(progressOf({ done: 12, total: 10, startedAt, now })).toMatchObject({ done: 10, percent: 100 });
    expect(progressOf({ done: 2, total: 3, startedAt, now }).percent).toBe(66);
  });
});

describe('times in the organisation’s zone, named in words', () => {
  const at = new Date('2026-07-01T13:05:00Z');
  it('shows the zone’s own clock and names the zone', () => {
    expect(formatDateTime(at, 'UTC')).toBe('1 July 2026, 13:05 Coordinated Universal Time');
    expect(formatDateTime(at, 'Europe/London')).toBe('1 July 2026, 14:05 British Summer Time');
    expect(formatDateTime(new Date('2026-12-01T13:05:00Z'), 'Europe/London')).toBe('1 December 2026, 13:05 Greenwich Mean Time');
    expect(formatDay(new Date('2026-07-01T23:30:00Z'), 'Europe/Berlin')).toBe('2 July 2026');
    expect(formatStamp(at, 'UTC')).toBe('1 Jul 2026, 13:05 UTC');
    expect(formatStamp(at, 'Europe/London')).toBe('1 Jul 2026, 14:05 BST');
  });
  it('knows zone names and says durations in words', () => {
    expect(isTimeZone('Europe/London')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(formatDuration(20_000)).toBe('less than a minute');
    expect(formatDuration(60_000)).toBe('about 1 minute');
    expect(formatDuration(45 * 60_000)).toBe('about 45 minutes');
    expect(formatDuration(5 * 3600_000)).toBe('about 5 hours');
    expect(formatDuration(3 * 86400_000)).toBe('about 3 days');
  });
});
