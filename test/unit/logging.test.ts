import { describe, expect, it } from '@jest/globals';
import { loggablePath, truncateIp } from '../../src/shared/logger.js';

describe('C10: logs are not linked to individuals', () => {
  it('C10: truncates IPv4 to /24 and IPv6 to /48 before anything is written', () => {
    expect(truncateIp('203.0.113.77')).toBe('203.0.113.0');
    expect(truncateIp('::ffff:198.51.100.9')).toBe('198.51.100.0');
    expect(truncateIp('2001:db8:85a3:8d3:1319:8a2e:370:7348')).toBe('2001:db8:85a3::');
    expect(truncateIp('2001:db8::1')).toBe('2001:db8:0::');
    expect(truncateIp('::1')).toBe('0:0:0::');
    expect(truncateIp(undefined)).toBe('unknown');
    expect(truncateIp('not an ip')).toBe('unknown');
  });

  it('C10: logs paths without query strings, e-mail addresses or link tokens', () => {
    expect(loggablePath('/manage?email=ada@example.org')).toBe('/manage');
    expect(loggablePath('/unsubscribe/eyJwIjoidW5zdWJzY3JpYmUiLCJtIjoi.abc.def')).toBe('/unsubscribe/:redacted');
    expect(loggablePath('/members/ada%40example.org')).toBe('/members/:redacted');
    expect(loggablePath('/privacy/versions/1.0')).toBe('/privacy/versions/1.0');
  });
});
