/**
 * Times as people read them (issue 13.6): in the organisation's zone (ORG_TIMEZONE), with the
 * zone named in words, e.g. "29 November 2026, 14:05 Greenwich Mean Time".
 */

/** True if the runtime knows this IANA zone name. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const cache = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${zone}|${JSON.stringify(opts)}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { ...opts, timeZone: zone });
    cache.set(key, f);
  }
  return f;
}

/** "29 November 2026" in the zone. */
export function formatDay(at: Date, zone: string): string {
  return formatter(zone, { day: 'numeric', month: 'long', year: 'numeric' }).format(at);
}

/** Day, month, year and 24-hour time in the zone, then the zone's name. */
function dayAndTime(at: Date, zone: string, style: 'long' | 'short'): string {
  const parts = formatter(zone, {
    day: 'numeric',
    month: style,
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: style,
  }).formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('day')} ${part('month')} ${part('year')}, ${part('hour')}:${part('minute')} ${part('timeZoneName')}`;
}

/** "29 November 2026, 14:05 Greenwich Mean Time" in the zone. */
export function formatDateTime(at: Date, zone: string): string {
  return dayAndTime(at, zone, 'long');
}

/** "about 3 minutes", "about 2 hours", "less than a minute". */
export function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60000);
  if (minutes < 1) return 'less than a minute';
  if (minutes < 90) return `about ${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.round(minutes / 60);
  if (hours < 36) return `about ${hours} hours`;
  return `about ${Math.round(hours / 24)} days`;
}

/** A compact time for tables: "29 Nov 2026, 14:05 GMT" in the zone (its short name). */
export function formatStamp(at: Date, zone: string): string {
  return dayAndTime(at, zone, 'short');
}
