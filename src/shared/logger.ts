import { isIP } from 'node:net';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs never carry personal data (C10): no names, e-mail addresses, member ids,
 * cookies or query strings. The redact list is a last line of defence, not the policy.
 */
export function createLogger(level: string, pretty = false, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: undefined,
    redact: {
      paths: ['email', 'name', 'phone', 'postalAddress', '*.email', '*.name', 'req.headers', 'password', 'token'],
      censor: '[redacted]',
    },
    ...(pretty && !destination
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname' } } }
      : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Truncates an address before it is written anywhere: IPv4 to its /24, IPv6 to its /48.
 * The result still serves troubleshooting and abuse limits, but no longer names a household.
 */
export function truncateIp(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (isIP(v4) === 4) return `${v4.split('.').slice(0, 3).join('.')}.0`;
  if (isIP(ip) === 6) {
    const [head = '', tail = ''] = ip.split('::');
    const groups = head.split(':').filter(Boolean);
    const filled = tail === '' && !ip.includes('::') ? groups : [...groups, ...Array(8 - groups.length).fill('0')];
    return `${filled.slice(0, 3).join(':')}::`;
  }
  return 'unknown';
}

/**
 * The path as it may be logged: query strings dropped (they can carry e-mail addresses),
 * and long opaque segments (signed link tokens) replaced, since a token is a credential.
 */
export function loggablePath(url: string): string {
  const pathOnly = url.split('?')[0] ?? '/';
  return pathOnly
    .split('/')
    .map((seg) => (seg.length >= 24 || seg.includes('@') || seg.includes('%40') ? ':redacted' : seg))
    .join('/');
}
