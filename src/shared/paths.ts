import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root, found from this file whether it runs from src/ (tsx) or dist/src/ (built). */
function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'views'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('Cannot find the project root (a folder with views/)');
    dir = parent;
  }
  return dir;
}

export const projectRoot = findRoot();
export const viewsDir = path.join(projectRoot, 'views');
export const publicDir = path.join(projectRoot, 'public');
/** Migrations and seeds sit next to the running code: the .ts sources, or the compiled .js. */
const codeRoot = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))));
export const migrationsDir = path.join(codeRoot, 'migrations');
export const seedsDir = path.join(codeRoot, 'seeds');
