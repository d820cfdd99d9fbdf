/**
 * The preference page's ceiling: a bare Express 5 app that renders the same view
 * (views/consent/preferences.ejs with its partials) from fixed data, with the view cache on as in
 * production. No database, no sessions, no security headers: what rendering the page costs.
 *
 *   node --import tsx bench/bare-preference.ts <locals.json>   (PORT from the environment)
 */
import { readFileSync } from 'node:fs';
import express from 'express';
import { useViews } from '../src/shared/http/views.js';

const fixed = JSON.parse(readFileSync(process.argv[2]!, 'utf8'), (_k, v: unknown) =>
  typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) ? new Date(v) : v,
) as Record<string, unknown> & { sent: [number, unknown][] };
const locals = { ...fixed, sent: new Map(fixed.sent), errors: {}, input: {} };

const app = express();
useViews(app, { cache: true });
app.get('/p/:token', (req, res) => res.render('consent/preferences', { ...locals, action: `/p/${req.params.token}` }));
app.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('bare preference page ready\n'));
