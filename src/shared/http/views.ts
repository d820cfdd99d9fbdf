import type { Express } from 'express';
import { viewsDir } from '../paths.js';

/**
 * Server-rendered EJS views from views/. Includes name their file from views/
 * ("/partials/_head.ejs", with `root`): ejs then finds it without a look on disk for each include
 * of each render, which a path relative to the including file costs.
 */
export function useViews(app: Express, opts: { cache: boolean }): void {
  app.set('view engine', 'ejs');
  app.set('views', viewsDir);
  app.set('view options', { root: viewsDir });
  if (opts.cache) app.set('view cache', true);
}
