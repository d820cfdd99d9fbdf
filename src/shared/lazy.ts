import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/**
 * A large CommonJS dependency that only some requests need (the Markdown renderer, the HTML
 * sanitiser, HTML to plain text), loaded synchronously the first time it is used rather than when
 * the process starts: every process start (and every test file, which loads the app afresh)
 * otherwise spends a few hundred milliseconds of CPU parsing code it may never run.
 */
export function onFirstUse<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireHere(specifier) as T);
}
