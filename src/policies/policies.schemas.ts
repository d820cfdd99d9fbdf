/**
 * A policy version's label, such as 2.1: what staff may type, and so the only shape a
 * /privacy/versions/:version address can have. Anything else is a page that does not exist,
 * answered before the database is asked.
 */
export const VERSION_LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const VERSION_LABEL_MAX = 20;

export function isVersionLabel(raw: unknown): raw is string {
  return typeof raw === 'string' && raw.length <= VERSION_LABEL_MAX && VERSION_LABEL.test(raw);
}
