/**
 * The shapes of the ids Assent puts in addresses and forms. Anything else is simply not found
 * (404), never a database error: a uuid column refuses a malformed uuid, an integer column an
 * out-of-range number.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(id: unknown): id is string {
  return typeof id === 'string' && UUID.test(id);
}

/** A positive integer id (a PostgreSQL integer), or undefined. */
export function parseNumericId(raw: unknown): number | undefined {
  const s = typeof raw === 'string' ? raw : '';
  if (!/^[1-9]\d{0,9}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 2147483647 ? n : undefined;
}
