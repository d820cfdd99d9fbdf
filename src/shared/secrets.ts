import { createHash, randomBytes } from 'node:crypto';

/** A random single-use token (256 bits, URL-safe). Only its hash is ever stored. */
export function newSecretToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Looks like one of our random tokens; anything else is refused before touching the database. */
export function isWellFormedSecret(token: unknown): token is string {
  return typeof token === 'string' && /^[A-Za-z0-9_-]{43}$/.test(token);
}
