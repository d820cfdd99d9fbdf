import { describe, expect, it } from '@jest/globals';
import { DEFAULT_WEBHOOK_RETRY_SCHEDULE, loadConfig } from '../../src/config.js';
import { nextAttemptAt } from '../../src/integrations/webhooks.deliver.js';
import { isPublicAddress } from '../../src/integrations/webhooks.targets.js';

describe('webhook retries', () => {
  it('the real schedule keeps trying for at least 24 hours, with growing gaps', () => {
    const total = DEFAULT_WEBHOOK_RETRY_SCHEDULE.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(24 * 3600);
    expect(total).toBe(5 + 300 + 1800 + 7200 + 18000 + 36000 + 36000);
    for (let i = 1; i < DEFAULT_WEBHOOK_RETRY_SCHEDULE.length; i++)
      expect(DEFAULT_WEBHOOK_RETRY_SCHEDULE[i]!).toBeGreaterThanOrEqual(DEFAULT_WEBHOOK_RETRY_SCHEDULE[i - 1]!);
    const config = loadConfig({ NODE_ENV: 'test', SECRET_KEYS: 'k'.repeat(32) });
    expect(config.webhooks.retrySchedule).toEqual(DEFAULT_WEBHOOK_RETRY_SCHEDULE);
  });

  it('each failed attempt is followed by the next delay; after the last, none (the delivery has failed)', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(nextAttemptAt(DEFAULT_WEBHOOK_RETRY_SCHEDULE, 1, now)).toEqual(new Date('2026-01-01T00:00:05Z'));
    expect(nextAttemptAt(DEFAULT_WEBHOOK_RETRY_SCHEDULE, 2, now)).toEqual(new Date('2026-01-01T00:05:00Z'));
    expect(nextAttemptAt(DEFAULT_WEBHOOK_RETRY_SCHEDULE, 7, now)).toEqual(new Date('2026-01-01T10:00:00Z'));
    expect(nextAttemptAt(DEFAULT_WEBHOOK_RETRY_SCHEDULE, 8, now)).toBeNull();
  });

  it('a test schedule is read from WEBHOOK_RETRY_SCHEDULE; a malformed one is refused at boot', () => {
    expect(loadConfig({ NODE_ENV: 'test', SECRET_KEYS: 'k'.repeat(32), WEBHOOK_RETRY_SCHEDULE: '1, 2,3' }).webhooks.retrySchedule).toEqual([
      1, 2, 3,
    ]);
    expect(() => loadConfig({ NODE_ENV: 'test', SECRET_KEYS: 'k'.repeat(32), WEBHOOK_RETRY_SCHEDULE: 'soon' })).toThrow(
      /WEBHOOK_RETRY_SCHEDULE/,
    );
  });

  it('only public unicast addresses count as public', () => {
    for (const a of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.0.1',
      '169.254.169.254',
      '::1',
      'fe80::1',
      'fc00::1',
      '::ffff:127.0.0.1',
      '0.0.0.0',
      '100.64.0.1',
    ])
      expect([a, isPublicAddress(a)]).toEqual([a, false]);
    for (const a of ['93.184.216.34', '2606:4700:4700::1111']) expect([a, isPublicAddress(a)]).toEqual([a, true]);
  });
});
