import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse, type HTMLElement } from 'node-html-parser';
import { match } from 'path-to-regexp';
import request from 'supertest';
import { ONE_LINE_MESSAGE } from '../../src/shared/http/text.js';
import { hashToken, newSecretToken } from '../../src/shared/secrets.js';
import { Links } from '../../src/shared/links.js';
import type { TestContext } from '../helpers/app.js';
import { importIdOf, uploadCsv } from '../helpers/imports.js';
import { appRoutes, type AppRoute } from '../helpers/routes.js';
import { startSeededContext } from '../helpers/seeded.js';
import { csrfFrom, signedInAgent } from '../helpers/session.js';
import { createStaff, freshTotpCode, signedInStaff, STAFF_PASSWORD, type Agent } from '../helpers/staff.js';

/**
 * Every text field of every form a visitor, a member and an admin can reach, posted with a NUL, a
 * CR/LF and a U+2028 in it: the answer is 422 (the form again, with a message) or a clean save,
 * never a 500, and nothing stored afterwards holds such a character. The forms are found, not
 * listed: each GET route the app serves is fetched by each of the three, the routes with an id are
 * reached through the links on the pages, and every <form> on them is parsed.
 *
 * Blank required fields are filled in as a person would (a valid sample for their type, the first
 * real option of a required choice, a required box ticked), so that the bad value is the only thing
 * wrong with a post and goes as far into the app as it can.
 *
 * A box's value is sent with the bad characters too: the page sets it, but a hostile post can set
 * it to anything.
 *
 * Not reached by the walk: the link-token pages (/p/:token, /join/invited/:token, /signin/:token,
 * /l/…/:token, /join/confirm/:token, /unsubscribe/:token), which come from e-mail; the staff
 * sign-in's second step and the two-factor enrolment, which need a sign-in half done or an account
 * not yet enrolled; and an import's pages, which need an uploaded file. The second test below posts
 * the forms of those with text or boxes in them; the other link pages are single buttons with no
 * field (path-params.test.ts covers their tokens).
 */

// Posting these would end the session or the fixture the rest of the walk needs: sign-out and
// staff sign-out end the signed-in session; carrying out a removal erases the member it names.
const SKIPPED_ACTIONS = ['POST /signout', 'POST /admin/logout', 'POST /admin/removals/:id/carry-out'];

const BAD: Record<string, string> = { NUL: '\u0000', 'CR/LF': '\r\n', 'U+2028': '\u2028' };
// As PostgreSQL regular expressions: the C0 controls but TAB and LF (so CR too), DEL, the C1 controls and
// U+2028/U+2029; JSON text shows a C0 control as an escape.
const STORED_BAD_TEXT = '[\\x01-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u2028\\u2029]';
const STORED_BAD_JSON = '\\\\r|\\\\u00[01][0-9a-f]|[\\x7f-\\x9f\\u2028\\u2029]';

let ctx: TestContext;
let visitor: Agent;
let member: Agent;
let admin: Agent;
let routes: AppRoute[];
let memberIds: string[];
let topicIds: number[];

beforeAll(async () => {
  const seeded = await startSeededContext({ worker: false });
  ctx = seeded.ctx;
  memberIds = Object.values(seeded.member);
  topicIds = Object.values(seeded.topic);
  const [signedIn, other] = memberIds;
  // Forms that only show when there is something to act on: a draft policy to edit and publish, a
  // confirmed removal request to hold, a question from the public to answer.
  await ctx.db('policy_versions').insert({ version: 'hygiene-draft', title: 'Draft', summary: '', body: 'Draft text.' });
  await ctx.db('removal_requests').insert({
    member_id: other,
    status: 'confirmed',
    confirmed_at: ctx.db.fn.now(),
    due_at: ctx.db.raw("now() + interval '30 days'"),
  });
  await ctx.db('inquiries').insert({ name: 'Hygiene Asker', email: 'asker@example.org', subject: 'other', message: 'A question.' });
  visitor = request.agent(ctx.http);
  member = await signedInAgent(ctx, signedIn!);
  let adminId: string;
  ({ agent: admin, id: adminId } = await signedInStaff(ctx, 'hygiene-admin@example.org', 'admin'));
  // A draft bulletin to edit and send, and a sent one with a web version, so the topic has an archive.
  const topicId = seeded.topic['monthly-bulletin'];
  await ctx.db('bulletins').insert({ topic_id: topicId, subject: 'Draft bulletin', body: 'Hello.', created_by: adminId });
  await ctx.db('bulletins').insert({
    topic_id: topicId,
    subject: 'Sent bulletin',
    body: 'Hello.',
    web_version: true,
    status: 'sent',
    started_at: ctx.db.fn.now(),
    snapshot_finished_at: ctx.db.fn.now(),
    finished_at: ctx.db.fn.now(),
    created_by: adminId,
  });
  // Webhook endpoints: one working with a failed delivery to resend, one disabled to enable again.
  const [hook] = (await ctx
    .db('webhook_endpoints')
    .insert([
      { url: 'https://hooks.example.org/a', events: ['member.updated'], secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
      { url: 'https://hooks.example.org/b', events: ['member.updated'], secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', enabled: false },
    ])
    .returning('id')) as { id: number }[];
  await ctx.db('webhook_events').insert({ id: 'msg_hygiene', type: 'member.updated', payload: JSON.stringify({}) });
  await ctx.db('webhook_deliveries').insert({ event_id: 'msg_hygiene', endpoint_id: hook!.id, status: 'failed', attempts: 8 });
  routes = appRoutes(ctx.app);
});
afterAll(() => ctx.close());

interface FoundForm {
  agent: Agent;
  page: string;
  method: 'GET' | 'POST';
  action: string;
  key: string;
  form: HTMLElement;
}

const patternOf = (method: string, path: string) => routes.find((r) => r.method === method && match(r.path)(path) !== false)?.path;

// Enough pages per route with an id to find the one whose forms show (a draft among published policy versions).
const PAGES_PER_ROUTE = 10;

/** Fetches the GET routes of an area, then the routes with an id through the links found, and returns their forms. */
async function formsOf(
  agent: Agent,
  inArea: (path: string) => boolean,
  seen: Set<string>,
): Promise<{ forms: FoundForm[]; visited: Set<string> }> {
  const gets = routes.filter((r) => r.method === 'GET' && inArea(r.path));
  const visited = new Set(gets.filter((r) => !r.path.includes(':')).map((r) => r.path));
  const queue = [...visited];
  const queued = new Set(queue);
  const perRoute = new Map<string, number>();
  const forms: FoundForm[] = [];
  while (queue.length) {
    const page = queue.shift()!;
    const res = await agent.get(page);
    if (res.status !== 200 || !String(res.headers['content-type']).startsWith('text/html')) continue;
    const html = parse(res.text);
    for (const a of html.querySelectorAll('a[href^="/"]')) {
      const path = new URL(a.getAttribute('href')!, 'http://x').pathname;
      const route = patternOf('GET', path);
      if (!route?.includes(':') || !gets.some((r) => r.path === route) || queued.has(path)) continue;
      if ((perRoute.get(route) ?? 0) >= PAGES_PER_ROUTE) continue;
      perRoute.set(route, (perRoute.get(route) ?? 0) + 1);
      visited.add(route);
      queued.add(path);
      queue.push(path);
    }
    for (const form of html.querySelectorAll('form')) {
      const method = (form.getAttribute('method') ?? 'get').toUpperCase() as 'GET' | 'POST';
      const action = form.getAttribute('action') ?? page;
      const key = `${method} ${patternOf(method, action) ?? action}`;
      if (seen.has(key)) continue;
      seen.add(key);
      forms.push({ agent, page, method, action, key, form });
    }
  }
  return { forms, visited };
}

let counter = 0;
/** A valid value for a blank field of this type, as a person would type it. */
function sample(type: string): string {
  counter++;
  if (type === 'email') return `hygiene-${counter}@example.org`;
  if (type === 'password') return 'a long sample password 1234';
  if (type === 'tel') return '+44 20 7946 0000';
  if (type === 'date') return '2026-01-15';
  if (type === 'datetime-local') return new Date(Date.now() + 10 * 86400000).toISOString().slice(0, 16);
  if (type === 'number') return '1';
  return `sample-${counter}`;
}

const TEXT_TYPES = new Set([
  'text',
  'email',
  'password',
  'search',
  'tel',
  'url',
  'date',
  'datetime-local',
  'time',
  'month',
  'week',
  'number',
  'hidden',
]);
interface Field {
  name: string;
  value: string;
}

/** The form as a person would send it, and the fields a hostile one can set to anything. */
function fieldsOf(form: HTMLElement): { base: Field[]; targets: Field[] } {
  const base: Field[] = [];
  const targets: Field[] = [];
  const samples = new Map<string, string>();
  const radiosDone = new Set<string>();
  for (const el of form.querySelectorAll('input, textarea, select, button')) {
    const name = el.getAttribute('name');
    // The CSRF token and a page's signed field are the app's own, not a field a person types in.
    if (!name || name === '_csrf' || name === '_confirm') {
      if (name) base.push({ name, value: el.getAttribute('value') ?? '' });
      continue;
    }
    const tag = el.tagName.toLowerCase();
    const type = (el.getAttribute('type') ?? (tag === 'button' ? 'submit' : 'text')).toLowerCase();
    const required = el.hasAttribute('required');
    if (tag === 'button' || type === 'submit') {
      targets.push({ name, value: el.getAttribute('value') ?? '' });
    } else if (type === 'checkbox') {
      const value = el.getAttribute('value') ?? 'on';
      if (el.hasAttribute('checked') || required) base.push({ name, value });
      // One box of a group (they share a name) is enough to send a bad value in its place.
      if (!targets.some((t) => t.name === name)) targets.push({ name, value });
    } else if (type === 'radio') {
      const group = form.querySelectorAll('input[type="radio"]').filter((r) => r.getAttribute('name') === name);
      if (radiosDone.has(name)) continue;
      radiosDone.add(name);
      const chosen = group.find((r) => r.hasAttribute('checked')) ?? (required ? group[0] : undefined);
      if (chosen) base.push({ name, value: chosen.getAttribute('value') ?? 'on' });
      targets.push({ name, value: chosen?.getAttribute('value') ?? group[0]?.getAttribute('value') ?? '' });
    } else if (tag === 'select') {
      const options = el.querySelectorAll('option');
      const picked =
        options.find((o) => o.hasAttribute('selected')) ??
        (required ? options.find((o) => o.getAttribute('value')) : undefined) ??
        options[0];
      const value = picked?.getAttribute('value') ?? picked?.text ?? '';
      base.push({ name, value });
      targets.push({ name, value: value || (options.find((o) => o.getAttribute('value'))?.getAttribute('value') ?? 'x') });
    } else if (tag === 'textarea' || TEXT_TYPES.has(type)) {
      const shown = tag === 'textarea' ? el.text : (el.getAttribute('value') ?? '');
      // Passwords typed twice must match: one sample per type serves both.
      const filled = shown || (required ? (samples.get(type) ?? samples.set(type, sample(type)).get(type)!) : '');
      base.push({ name, value: filled });
      targets.push({ name, value: filled || sample(type) });
    }
  }
  return { base, targets };
}

/** The form sent with one field set to a bad value: fresh e-mail addresses each time, so rate limits and "already used" stay out of the way. */
function hostileBody(base: Field[], target: Field, bad: string): string {
  const pairs = base.filter((f) => f.name !== target.name).map((f) => [f.name, /@example\.org$/.test(f.value) ? sample('email') : f.value]);
  const [head, tail] = target.value.includes('@') ? target.value.split('@') : [target.value, ''];
  pairs.push([target.name, tail ? `${head}${bad}x@${tail}` : `${head}${bad}x`]);
  return new URLSearchParams(pairs).toString();
}

/** The form as fieldsOf reads it, with values a person would choose put in (so the bad value is the only thing wrong). */
function fieldsWith(form: HTMLElement, fill: Record<string, string>): { base: Field[]; targets: Field[] } {
  const { base, targets } = fieldsOf(form);
  return {
    base: [...base.filter((f) => !(f.name in fill)), ...Object.entries(fill).map(([name, value]) => ({ name, value }))],
    targets: targets.map((t) => (t.name in fill ? { name: t.name, value: fill[t.name]! } : t)),
  };
}

/** Sends the form with one field set to a bad value, as a browser posting from one of our pages does (same-origin). */
function sendHostile({ agent, method, action }: FoundForm, base: Field[], target: Field, bad: string) {
  const body = hostileBody(base, target, bad);
  return method === 'GET'
    ? agent.get(`${action}?${body}`)
    : agent.post(action).set('Sec-Fetch-Site', 'same-origin').type('form').send(body);
}

/** A refusal (the form again, 422) or a clean save (2xx, 3xx). */
const refusedOrSaved = (status: number) => status === 422 || (status >= 200 && status < 400);

async function postEveryField(forms: FoundForm[]): Promise<{ failures: string[]; posts: number }> {
  const failures: string[] = [];
  let posts = 0;
  for (const found of forms) {
    if (SKIPPED_ACTIONS.includes(found.key)) continue;
    const { base, targets } = fieldsOf(found.form);
    for (const target of targets) {
      for (const [label, bad] of Object.entries(BAD)) {
        const res = await sendHostile(found, base, target, bad);
        posts++;
        if (!refusedOrSaved(res.status)) failures.push(`${found.key} (on ${found.page}) ${target.name} with ${label} → ${res.status}`);
      }
    }
  }
  return { failures, posts };
}

/** The forms of a page the walk cannot reach, as the agent gets it (the staff sign-out in the header left out). */
async function formsOn(agent: Agent, page: string): Promise<FoundForm[]> {
  const res = await agent.get(page);
  if (res.status !== 200) throw new Error(`${page} answered ${res.status}`);
  return parse(res.text)
    .querySelectorAll('form')
    .map((form) => {
      const method = (form.getAttribute('method') ?? 'get').toUpperCase() as 'GET' | 'POST';
      const action = form.getAttribute('action') ?? page;
      return { agent, page, method, action, key: `${method} ${patternOf(method, action) ?? action}`, form };
    })
    .filter((f) => !SKIPPED_ACTIONS.includes(f.key));
}

interface UnwalkedForm {
  /** The route of the form's action. */
  key: string;
  /** Gets the page the form is on and returns that form. */
  load: () => Promise<FoundForm>;
  /** A post that saves uses up what the form is for (an invitation, an import): load a new one for each post. */
  fresh?: boolean;
  fill?: Record<string, string>;
  /** The answers allowed. */
  allowed: (res: request.Response) => boolean;
}

/** The one form of a page whose action is of this route. */
const formOf = (agent: Agent, page: string, key: string) => async () => {
  const found = (await formsOn(agent, page)).filter((f) => f.key === key);
  if (found.length !== 1) throw new Error(`${page} has ${found.length} forms for ${key}`);
  return found[0]!;
};

/** Every text and JSON column of every table, searched for what no field should have let through. */
async function storedBadText(): Promise<string[]> {
  const columns = (await ctx
    .db('information_schema.columns')
    .where({ table_schema: 'public' })
    .where((q) => q.whereIn('data_type', ['text', 'character varying', 'json', 'jsonb']).orWhere({ udt_name: 'citext' }))
    .select('table_name', 'column_name', 'data_type')) as { table_name: string; column_name: string; data_type: string }[];
  const found: string[] = [];
  for (const c of columns) {
    const pattern = c.data_type.startsWith('json') ? STORED_BAD_JSON : STORED_BAD_TEXT;
    const rows = (await ctx.db(c.table_name).whereRaw('??::text ~ ?', [c.column_name, pattern]).select(c.column_name).limit(3)) as Record<
      string,
      unknown
    >[];
    for (const row of rows) found.push(`${c.table_name}.${c.column_name}: ${JSON.stringify(row[c.column_name]).slice(0, 120)}`);
  }
  return found;
}

describe('C11: no form field of the member or staff area can be made to answer 500', () => {
  it('every text field of every form, sent with NUL, CR/LF or U+2028, is refused with 422 or saved clean', async () => {
    expect(await storedBadText()).toEqual([]);
    const seen = new Set<string>();
    const isStaffPage = (p: string) => p === '/admin' || p.startsWith('/admin/');
    const areas = [
      await formsOf(visitor, () => true, seen),
      await formsOf(member, (p) => !isStaffPage(p), seen),
      await formsOf(admin, isStaffPage, seen),
    ];
    const forms = areas.flatMap((a) => a.forms);

    // Every page the app routes was reached, but for the link-token pages (see above).
    const visited = new Set(areas.flatMap((a) => [...a.visited]));
    const unreached = routes.filter((r) => r.method === 'GET' && !visited.has(r.path)).map((r) => r.path);
    // Reached otherwise, and holding no form of their own: the bulletin confirmation page comes from
    // the send page's GET form (walked here as a form); the sample-link page from a preview's or a
    // test e-mail's footer.
    // An import's pages exist only once a file is uploaded (multipart, which this walk does not
    // send): the next test posts their forms, and test/e2e/imports.test.ts walks them.
    const elsewhere = [
      '/admin/bulletins/:id/confirm',
      '/bulletin-preview/:what',
      '/admin/imports/:id',
      '/admin/imports/:id/mapping',
      '/admin/imports/:id/errors',
      '/admin/imports/:id/differences',
    ];
    // The REST API has no forms and no pages to link from: its input is tested in api.test.ts.
    const api = (p: string) => p.startsWith('/api/');
    expect(unreached.filter((p) => !p.includes(':token') && !elsewhere.includes(p) && !api(p))).toEqual([]);
    // The walk found the forms that matter most; if one of these goes missing, the walk is broken.
    for (const key of [
      'POST /join',
      'POST /account/details',
      'POST /admin/members/:id/change',
      'POST /admin/removals/:id/hold',
      'GET /admin/audit',
    ])
      expect(forms.map((f) => f.key)).toContain(key);

    const { failures, posts } = await postEveryField(forms);
    expect(failures).toEqual([]);
    expect(posts).toBeGreaterThan(100);
    expect(ctx.logLines.filter((l) => l.event === 'http.unhandled_error')).toEqual([]);
    expect(await storedBadText()).toEqual([]);
  }, 120000);

  it('so does every field of the forms the walk cannot reach: two-factor codes, enrolment, an import’s mapping and start, the link pages', async () => {
    // Half signed in: the password was right, the two-factor code is still due.
    await createStaff(ctx, 'hygiene-totp@example.org', 'support');
    const halfSignedIn = request.agent(ctx.http);
    const signIn = async (agent: Agent, email: string) => {
      const _csrf = await csrfFrom(agent, '/admin/login');
      return (await agent.post('/admin/login').type('form').send({ _csrf, email, password: STAFF_PASSWORD })).headers.location;
    };
    expect(await signIn(halfSignedIn, 'hygiene-totp@example.org')).toBe('/admin/login/totp');
    // Signed in, two-factor not set up yet: only the enrolment page opens.
    await createStaff(ctx, 'hygiene-enrol@example.org', 'editor', 'Hygiene Enrol', { twoFactor: false });
    const enrolling = request.agent(ctx.http);
    expect(await signIn(enrolling, 'hygiene-enrol@example.org')).toBe('/admin');

    // Imports: a sheet of its own layout waits for its mapping; a plain one is checked at once and waits to start.
    let rows = 0;
    const upload = async (csv: string) => importIdOf((await uploadCsv(admin, 'hygiene.csv', csv, 303)).headers.location);
    const mapped = await upload('Mail,Full name,Newsletter,Joined\nmapped.one@example.net,Mapped One,yes,2020-01-01\n');
    const importToStart = async () => {
      rows++;
      return `/admin/imports/${await upload(`email,name\nto.start.${rows}@example.net,To Start ${rows}\n`)}`;
    };

    // The link pages: a member's preferences from a manage link, an invitation from an import.
    const links = new Links(ctx.config.baseUrl, ctx.config.secretKeys);
    const managePage = links.manage(memberIds[2]!).replace(ctx.config.baseUrl, '');
    const invitationPage = async () => {
      const token = newSecretToken();
      rows++;
      await ctx.db('import_invitations').insert({
        import_id: mapped,
        email: `invited.${rows}@example.net`,
        name: 'Invited Person',
        token_hash: hashToken(token),
        mailed_at: ctx.db.fn.now(),
        expires_at: ctx.db.raw("now() + interval '1 day'"),
      });
      return `/join/invited/${token}`;
    };

    // A code with a bad character in it is refused as text, before it is compared (and counted as a failed attempt).
    const codeRefused = (res: request.Response) => res.status === 422 && res.text.includes(ONE_LINE_MESSAGE);
    const saved = (res: request.Response) => refusedOrSaved(res.status);
    const forms: UnwalkedForm[] = [
      { key: 'POST /admin/login/totp', load: formOf(halfSignedIn, '/admin/login/totp', 'POST /admin/login/totp'), allowed: codeRefused },
      {
        key: 'POST /admin/login/recovery',
        load: formOf(halfSignedIn, '/admin/login/totp', 'POST /admin/login/recovery'),
        allowed: codeRefused,
      },
      { key: 'POST /admin/totp/setup', load: formOf(enrolling, '/admin/totp/setup', 'POST /admin/totp/setup'), allowed: codeRefused },
      {
        key: 'POST /admin/imports/:id/mapping',
        load: formOf(admin, `/admin/imports/${mapped}/mapping`, 'POST /admin/imports/:id/mapping'),
        fill: { email: '1', name: '2', date: '4', [`topic_${topicIds[0]}`]: '3' },
        allowed: saved,
      },
      {
        key: 'POST /admin/imports/:id/start',
        load: async () => formOf(admin, await importToStart(), 'POST /admin/imports/:id/start')(),
        fresh: true,
        fill: { mode: 'evidence', evidence_where: 'The paper form', evidence_collected_on: '2015 to 2024', evidence_reference: 'Box 4' },
        allowed: saved,
      },
      { key: 'POST /p/:token', load: formOf(visitor, managePage, 'POST /p/:token'), allowed: saved },
      {
        key: 'POST /join/invited/:token',
        load: async () => formOf(request.agent(ctx.http), await invitationPage(), 'POST /join/invited/:token')(),
        fresh: true,
        allowed: saved,
      },
    ];

    const failures: string[] = [];
    const targetsOf = new Map<string, string[]>();
    for (const { key, load, fresh, fill = {}, allowed } of forms) {
      const first = await load();
      const { targets } = fieldsWith(first.form, fill);
      targetsOf.set(key, targets.map((t) => t.name).sort());
      for (const target of targets) {
        for (const [label, bad] of Object.entries(BAD)) {
          const found = fresh ? await load() : first;
          const { base } = fieldsWith(found.form, fill);
          const res = await sendHostile(found, base, target, bad);
          if (!allowed(res)) failures.push(`${key} ${target.name} with ${label} → ${res.status}`);
        }
      }
    }
    // The fields each form was posted with a bad value in: if one goes missing, the page or the parsing changed.
    expect(Object.fromEntries(targetsOf)).toMatchObject({
      'POST /admin/login/totp': ['code'],
      'POST /admin/login/recovery': ['recovery_code'],
      'POST /admin/totp/setup': ['code'],
      'POST /admin/imports/:id/mapping': expect.arrayContaining(['email', 'name', `topic_${topicIds[0]}`]),
      'POST /admin/imports/:id/start': ['evidence_collected_on', 'evidence_reference', 'evidence_where', 'mode'],
      'POST /p/:token': expect.arrayContaining(['topics']),
      'POST /join/invited/:token': ['age_confirmed', 'topics'],
    });
    expect(failures).toEqual([]);
    expect(ctx.logLines.filter((l) => l.event === 'http.unhandled_error')).toEqual([]);
    expect(await storedBadText()).toEqual([]);
    // None of it counted as a failed attempt: the half sign-in still ends with the right code.
    const staffId = ((await ctx.db('staff_users').where({ email: 'hygiene-totp@example.org' }).first('id')) as { id: string }).id;
    const _csrf = await csrfFrom(halfSignedIn, '/admin/login/totp');
    const done = await halfSignedIn
      .post('/admin/login/totp')
      .type('form')
      .send({ _csrf, code: await freshTotpCode(ctx, staffId) });
    expect(done.headers.location).toBe('/admin');
  }, 120000);
});
