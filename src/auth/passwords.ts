import { hash, verify } from '@node-rs/argon2';

/** argon2id with OWASP's minimum (m=19 MiB, t=2, p=1) — memory-hard (C11). */
const OPTIONS = { algorithm: 2 /* Argon2id (a const enum in the typings) */, memoryCost: 19456, timeCost: 2, parallelism: 1 };

// A hash of a random password, verified when the account does not exist or has no password,
// so a wrong address and a wrong password take the same time. Made on first need, not at start.
let dummy: Promise<string> | undefined;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  // Awaited on every path, so the first call after start takes as long with or without an account.
  const fallback = await (dummy ??= hash('no account has this password: 5b2d0f3a', OPTIONS));
  const ok = await verify(stored ?? fallback, password).catch(() => false);
  return ok && stored !== null;
}
