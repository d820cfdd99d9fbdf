import { readFileSync } from 'node:fs';
import path from 'node:path';
import ejs from 'ejs';
import { viewsDir } from '../shared/paths.js';
import { LOGO_CID } from './email.js';

type Template = (locals: Record<string, unknown>) => string;
const cache = new Map<string, Template>();

function compiled(file: string): Template {
  let t = cache.get(file);
  if (!t) {
    // cache: true also caches the partials that templates include, which are otherwise re-read and
    // recompiled per render; includes name their file from views/ (root), so none is looked for on disk.
    t = ejs.compile(readFileSync(file, 'utf8'), { filename: file, root: viewsDir, async: false, cache: true }) as Template;
    cache.set(file, t);
  }
  return t;
}

/** The system's own sans-serif in every mail program: no web font to fetch (it would tell a host the message was opened). */
export const FONT_STACK = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,'Helvetica Neue',Helvetica,Arial,sans-serif";

/**
 * Renders views/emails/<name>.html.ejs and <name>.text.ejs with the same locals, plus the layout's
 * constants (fonts, the logo's content id). Synchronous and side-effect free.
 */
export function renderEmailTemplates(name: string, locals: Record<string, unknown>): { html: string; text: string } {
  const dir = path.join(viewsDir, 'emails');
  const all = { ...locals, FONT_STACK, LOGO_CID };
  return {
    html: compiled(path.join(dir, `${name}.html.ejs`))(all),
    text:
      compiled(path.join(dir, `${name}.text.ejs`))(all)
        .replace(/\n{3,}/g, '\n\n')
        .trim() + '\n',
  };
}
