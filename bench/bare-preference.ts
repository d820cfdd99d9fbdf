/**
 * The preference page's ceiling: a bare Express 5 app that renders the same view
 * (views/consent/preferences.ejs with its partials) from fixed data, with the view cache on as in
 * production. No database, no sessions, no security headers: what rendering the page costs.
 *
 * Given the page's statement as well (a JSON file of the SQL and its bindings, as the app sent it),
 * it first runs that statement for each request through a bare pg pool of 16 (named, prepared once
 * per connection, as the app's is) and renders the fixed data all the same: what the page's one
 * round trip to PostgreSQL costs on top of the render, with nothing else of the app's.
 *
 *   node --import tsx bench/bare-preference.ts <locals.json> [statement.json]   (PORT, and DATABASE_URL with a statement)
 */
import { readFileSync } from 'node:fs';
import express, { type RequestHandler } from 'express';
import pg from 'pg';
import { useViews } from '../src/shared/http/views.js';

const fixed = JSON.parse(readFileSync(process.argv[2]!, 'utf8'), (_k, v: unknown) =>
  typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) ? new Date(v) : v,
) as Record<string, unknown> & { sent: [number, unknown][] };
const locals = { ...fixed, sent: new Map(fixed.sent), errors: {}, input: {} };

const app = express();
useViews(app, { cache: true });
const render: RequestHandler<{ token: string }> = (req, res) =>
  res.render('consent/preferences', { ...locals, action: `/p/${req.params.token}` });

/** The app's statement through a bare pool: knex's `?` placeholders become pg's `$n`. */
function withStatement(file: string): RequestHandler<{ token: string }> {
  const { sql, bindings } = JSON.parse(readFileSync(file, 'utf8')) as { sql: string; bindings: unknown[] };
  let n = 0;
  const text = sql.replace(/\?/g, () => `$${++n}`);
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 16 });
  return async (req, res, next) => {
    await pool.query({ name: 'preference_page', text, values: bindings });
    render(req, res, next);
  };
}

app.get('/p/:token', process.argv[3] ? withStatement(process.argv[3]) : render);
app.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('bare preference page ready\n'));
// Ended as the app is (SIGTERM), exiting normally so that BENCH_CPU_PROF can write its profile.
process.once('SIGTERM', () => process.exit(0));
