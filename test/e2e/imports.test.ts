import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobHelpers } from 'graphile-worker';
import { makeServiceContext } from '../../src/context.js';
import { IMPORT_APPLY_TASK } from '../../src/imports/apply.service.js';
import { importTasks } from '../../src/imports/imports.tasks.js';
import type { TestContext } from '../helpers/app.js';
import { filesIn, importIdOf, importState, postForm, uploadCsv, waitForStatus } from '../helpers/imports.js';
import { startSeededContext } from '../helpers/seeded.js';
import { signedInStaff, type Agent } from '../helpers/staff.js';

/** Issue 14: importing an existing member list, evidence mode, through the staff screens. */
let ctx: TestContext;
let admin: Agent;
let topic: Record<string, number>;
let dataDir: string;
const uploads = () => path.join(dataDir, 'imports');

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'assent-imports-'));
  ({ ctx, topic } = await startSeededContext({ env: { DATA_DIR: dataDir } }));
  ({ agent: admin } = await signedInStaff(ctx, 'import-admin@example.org', 'admin'));
}, 60000);
afterAll(async () => {
  await ctx?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const MAILCHIMP_HEADER =
  '"Email Address","First Name","Last Name","Address","Phone Number",MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,CC,REGION,LAST_CHANGED,LEID,EUID,NOTES,TAGS';
const mailchimpRow = (email: string, first: string, last: string, confirmed: string) =>
  `${email},${first},${last},"1 High Street  London  UK",+44 20 7946 0000,2,"${confirmed}",,"${confirmed}",,,,,,,,,"${confirmed}",1234,abcd,,`;

async function uploaded(name: string, content: string | Buffer): Promise<number> {
  const res = await uploadCsv(admin, name, content, 303);
  return importIdOf(res.headers.location);
}

describe('importing a Mailchimp audience export with evidence', () => {
  let id: number;

  it('recognises the export, maps it without asking, and checks it before writing anything', async () => {
    const csv = [
      MAILCHIMP_HEADER,
      mailchimpRow('nora.new@example.net', 'Nora', 'New', '2019-03-14 10:25:00'),
      mailchimpRow('ADA@EXAMPLE.ORG', 'Ada', 'Lovelace', '2018-01-02 09:00:00'),
      mailchimpRow('olaf.old@example.net', 'Olaf', 'Old', '2017-06-30 12:00:00'),
    ].join('\r\n');
    id = await uploaded('subscribed_members_export_1a2b3c.csv', csv);
    const state = await importState(ctx, id);
    expect(state.status).toBe('checked');
    expect(state.counts).toMatchObject({ rows: 3, new: 2, existing: 1, errors: 0, suppressed: 0 });
    const page = await admin.get(`/admin/imports/${id}`).expect(200);
    expect(page.text).toContain('Mailchimp audience export');
    expect(page.text).toMatch(/id="count-existing">1</);
    expect(await ctx.db('members').where('email', 'nora.new@example.net').first()).toBeUndefined();
    // The uploaded file is gone as soon as its rows are staged.
    expect(await filesIn(uploads())).toEqual([]);
  });

  it('takes "everyone in the file" for a topic, then imports with the evidence named', async () => {
    const fields = await ctx.db('imports').where({ id }).first('mapping');
    const m = (fields as { mapping: Record<string, number> }).mapping;
    await postForm(
      admin,
      `/admin/imports/${id}/mapping`,
      `/admin/imports/${id}/mapping`,
      {
        email: String(m.email),
        first_name: String(m.first_name),
        last_name: String(m.last_name),
        postal_address: String(m.postal_address),
        phone: String(m.phone),
        date: String(m.date),
        [`topic_${topic['monthly-bulletin']}`]: 'all',
      },
      303,
    );
    const missing = await postForm(
      admin,
      `/admin/imports/${id}/start`,
      `/admin/imports/${id}`,
      { mode: 'evidence', evidence_where: 'Paper forms' },
      422,
    );
    expect(missing.text).toContain('Say when consent was collected.');
    expect(missing.text).toContain('Give a reference to the evidence');
    expect(missing.text).toContain('Paper forms');
    const started = await postForm(
      admin,
      `/admin/imports/${id}/start`,
      `/admin/imports/${id}`,
      {
        mode: 'evidence',
        evidence_where: 'Mailchimp sign-up form with double opt-in',
        evidence_collected_on: '2017–2019',
        evidence_reference: 'MC-AUDIENCE-42',
      },
      303,
    );
    expect(started.headers.location).toBe(`/admin/imports/${id}`);
    const done = await waitForStatus(ctx, id, 'applied');
    expect(done.members_created).toBe(2);

    const nora = await ctx.db('members').where('email', 'nora.new@example.net').first();
    expect(nora).toMatchObject({ name: 'Nora New', status: 'active', import_id: id, phone: '+44 20 7946 0000' });
    const events = await ctx.db('consent_ledger').where({ member_id: nora.id });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      source: 'import',
      to_status: 'opted_in',
      request_reference: 'MC-AUDIENCE-42',
      import_id: id,
      topic_id: topic['monthly-bulletin'],
    });
    expect((events[0].consented_at as Date).toISOString()).toBe('2019-03-14T10:25:00.000Z');
    expect(await ctx.db('consents').where({ member_id: nora.id, status: 'opted_in' })).toHaveLength(1);
    // The staged rows, the file's content, are gone; the audit log has counts and the name only.
    expect(await ctx.db('import_rows').where({ import_id: id })).toHaveLength(0);
    const audit = await ctx.db('audit_log').where('action', 'like', 'import.%').select('action', 'details');
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(['import.uploaded', 'import.mapped', 'import.started', 'import.applied']),
    );
    expect(JSON.stringify(audit)).not.toContain('nora.new@example.net');
    expect(JSON.stringify(audit)).toContain('subscribed_members_export_1a2b3c.csv');
  });

  it('never changes an existing member’s choices, and mails nobody it imported', async () => {
    const ada = await ctx.db('members').where('email', 'ada@example.org').first();
    expect(ada.import_id).toBeNull();
    expect(await ctx.db('consent_ledger').where({ member_id: ada.id, source: 'import' }).whereNotNull('import_id')).toHaveLength(0);
    const mail = await ctx.db('email_messages').whereIn('recipient', ['nora.new@example.net', 'olaf.old@example.net']);
    expect(mail).toHaveLength(0);
    const page = await admin.get(`/admin/imports/${id}`).expect(200);
    expect(page.text).toContain('nora.new@example.net');
    expect(page.text).toContain('Undo this import');
    expect(page.text).toMatch(/<progress id="import-progress" max="2" value="2">/);
  });
});

describe('a listmonk subscribers export', () => {
  it('maps name, status and date, and a blocklisted subscriber gets no "everyone" consent', async () => {
    const csv = [
      'uuid,email,name,attributes,status,created_at,updated_at',
      '0c6a1c7e-1111-4e4e-9e9e-000000000001,lena.list@example.net,Lena List,"{""city"": ""Bergen""}",enabled,2020-05-01 08:00:00.123+00,2021-01-01 00:00:00+00',
      '0c6a1c7e-1111-4e4e-9e9e-000000000002,bob.block@example.net,Bob Block,{},blocklisted,2020-05-02 08:00:00+00,2021-01-01 00:00:00+00',
    ].join('\n');
    const id = await uploaded('subscribers.csv', csv);
    const imp = await ctx.db('imports').where({ id }).first('format', 'status', 'headers', 'mapping');
    expect(imp).toMatchObject({ format: 'listmonk', status: 'checked' });
    await postForm(
      admin,
      `/admin/imports/${id}/mapping`,
      `/admin/imports/${id}/mapping`,
      {
        email: '2',
        name: '3',
        status: '5',
        date: '6',
        [`topic_${topic.announcements}`]: 'all',
      },
      303,
    );
    expect((await importState(ctx, id)).counts).toMatchObject({ new: 2, errors: 0 });
    await postForm(
      admin,
      `/admin/imports/${id}/start`,
      `/admin/imports/${id}`,
      {
        mode: 'evidence',
        evidence_where: 'listmonk opt-in form',
        evidence_collected_on: '2020',
        evidence_reference: 'LM-1',
      },
      303,
    );
    await waitForStatus(ctx, id, 'applied');
    const lena = await ctx.db('members').where('email', 'lena.list@example.net').first();
    const bob = await ctx.db('members').where('email', 'bob.block@example.net').first();
    expect(lena.name).toBe('Lena List');
    expect(await ctx.db('consents').where({ member_id: lena.id, topic_id: topic.announcements, status: 'opted_in' })).toHaveLength(1);
    expect(await ctx.db('consents').where({ member_id: bob.id })).toHaveLength(0);
  });
});

describe('a semicolon sheet of its own layout, with a BOM and quoted line breaks', () => {
  it('goes to the mapping screen, which asks for the e-mail column field by field, and keeps line breaks in addresses', async () => {
    const csv = `\uFEFFKontakt;Navn;Adresse;Nyhetsbrev\r\n"sara.semi@example.net";"Sara Semi";"Storgata 1\r\n0155 Oslo";ja\r\nper.punkt@example.net;"Per ""PP"" Punkt";;no\r\n`;
    const id = await uploaded('medlemmer.csv', csv);
    expect(await ctx.db('imports').where({ id }).first('format', 'status', 'headers')).toEqual({
      format: 'other',
      status: 'mapping',
      headers: ['Kontakt', 'Navn', 'Adresse', 'Nyhetsbrev'],
    });
    const page = await admin.get(`/admin/imports/${id}/mapping`).expect(200);
    expect(page.text).toContain('sara.semi@example.net');
    const noEmail = await postForm(admin, `/admin/imports/${id}/mapping`, `/admin/imports/${id}/mapping`, { name: '2' }, 422);
    expect(noEmail.text).toContain('Choose the column that holds the e-mail addresses.');
    expect(noEmail.text).toMatch(/id="map-email-error"/);
    const badTopic = await postForm(
      admin,
      `/admin/imports/${id}/mapping`,
      `/admin/imports/${id}/mapping`,
      {
        email: '1',
        name: '2',
        postal_address: '3',
        [`topic_${topic['research-digest']}`]: '4',
      },
      303,
    );
    expect(badTopic.headers.location).toBe(`/admin/imports/${id}`);
    // "ja" is not a yes we know: the row is an error, said so in the report.
    expect((await importState(ctx, id)).counts).toMatchObject({ new: 1, errors: 1 });
    const report = await admin.get(`/admin/imports/${id}/errors`).expect(200);
    expect(report.headers['content-type']).toMatch(/^text\/csv/);
    expect(report.text).toContain('2,sara.semi@example.net,A consent column holds something other than yes or no.');
    await postForm(
      admin,
      `/admin/imports/${id}/mapping`,
      `/admin/imports/${id}/mapping`,
      { email: '1', name: '2', postal_address: '3' },
      303,
    );
    expect((await importState(ctx, id)).counts).toMatchObject({ new: 2, errors: 0 });
    const row = await ctx.db('import_rows').where({ import_id: id, row_no: 2 }).first('postal_address', 'email');
    expect(row).toEqual({ postal_address: 'Storgata 1\n0155 Oslo', email: 'sara.semi@example.net' });
    expect((await ctx.db('import_rows').where({ import_id: id, row_no: 3 }).first('name')).name).toBe('Per "PP" Punkt');
  });
});

describe('a file with every kind of bad row', () => {
  it('counts new, existing, errors and suppressed; the error report lists each problem, never a suppressed address (C6)', async () => {
    await ctx.db('suppression_list').insert({
      address_hash: (await import('../../src/shared/suppression.js')).addressHash(
        'gone@example.net',
        (await import('../../src/shared/suppression.js')).suppressionKeys(ctx.config.secretKeys).write,
      ),
      reason: 'erased',
    });
    const csv = [
      'email,name,date',
      'good.one@example.net,Good One,2020-01-01',
      ',No Address,',
      'not-an-address,Bad Address,',
      'dup@example.net,First Copy,',
      'DUP@example.net,Second Copy,',
      `long.name@example.net,${'N'.repeat(201)},`,
      'control@example.net,"Bell\u0007Name",',
      'baddate@example.net,Bad Date,2019-02-30',
      'gone@example.net,Suppressed Person,',
      'GONE@example.net,Suppressed Again,',
      'grace@example.org,Existing Grace,',
    ].join('\n');
    const id = await uploaded('bad.csv', csv);
    await postForm(admin, `/admin/imports/${id}/mapping`, `/admin/imports/${id}/mapping`, { email: '1', name: '2', date: '3' }, 303);
    expect((await importState(ctx, id)).counts).toEqual({ rows: 11, new: 2, existing: 1, errors: 6, suppressed: 2, differences: 0 });
    const report = await admin.get(`/admin/imports/${id}/errors`).expect(200);
    const lines = report.text.trim().split('\n');
    expect(lines[0]).toBe('row,e-mail address,problem');
    expect(lines.slice(1)).toEqual([
      '3,,No e-mail address.',
      '4,not-an-address,This is not a valid e-mail address.',
      '6,DUP@example.net,The same address as row 5 (a duplicate).',
      '7,long.name@example.net,The name is longer than 200 characters.',
      '8,control@example.net,The name holds a line break or a control character.',
      '9,baddate@example.net,The date is not one we can read (use 2024-03-31 or 2024-03-31 14:05).',
    ]);
    expect(report.text.toLowerCase()).not.toContain('gone@example.net');
    const page = await admin.get(`/admin/imports/${id}`).expect(200);
    expect(page.text.toLowerCase()).not.toContain('gone@example.net');
    expect(page.text).toMatch(/id="count-suppressed">2</);
  });
});

describe('a name that reads as a web address', () => {
  it('C11: is a row error, by the join form’s own rule: a scheme, www., a host with a path, a bare domain, an address', async () => {
    const csv = [
      'email,name',
      'initials@example.net,J.R.R. Tolkien',
      'saint@example.net,St.John Smith',
      'title@example.net,Mr. Smith',
      'scheme@example.net,http://evil.example',
      'inside@example.net,Prize at x://y',
      'www@example.net,Go to www.evil.example',
      'bare@example.net,Win at evil.com now',
      'path@example.net,evil.example/login',
      'ip@example.net,Call 10.0.0.1',
      'letters@example.net,José.com',
    ].join('\n');
    const id = await uploaded('links.csv', csv);
    await postForm(admin, `/admin/imports/${id}/mapping`, `/admin/imports/${id}/mapping`, { email: '1', name: '2' }, 303);
    expect((await importState(ctx, id)).counts).toMatchObject({ rows: 10, new: 3, errors: 7 });
    const report = (await admin.get(`/admin/imports/${id}/errors`).expect(200)).text.trim().split('\n');
    const problem = 'The name looks like a web address; a name cannot contain one.';
    expect(report.slice(1)).toEqual(
      ['scheme', 'inside', 'www', 'bare', 'path', 'ip', 'letters'].map((who, i) => `${i + 5},${who}@example.net,${problem}`),
    );
  });

  it('C11: is caught when first and last name make it up, and in every part of a long file', async () => {
    const rows = Array.from({ length: 12_000 }, (_, i) =>
      mailchimpRow(`dotted${i}@example.net`, 'A.B.', `Person ${i}`, '2020-01-01 10:00:00'),
    );
    // Row numbers count the header as row 1: the file's first row, the last of the first batch the check reads (5,000 rows)
    // and the first of the next, and the file's last row.
    for (const at of [2, 5001, 5002, 12_001])
      rows[at - 2] = mailchimpRow(`link${at}@example.net`, 'Visit', 'evil.com', '2020-01-01 10:00:00');
    const id = await uploaded('dotted.csv', [MAILCHIMP_HEADER, ...rows].join('\n'));
    expect((await importState(ctx, id)).counts).toMatchObject({ rows: 12_000, new: 11_996, errors: 4 });
    const report = (await admin.get(`/admin/imports/${id}/errors`).expect(200)).text.trim().split('\n');
    expect(report.slice(1)).toEqual(
      [2, 5001, 5002, 12_001].map((at) => `${at},link${at}@example.net,The name looks like a web address; a name cannot contain one.`),
    );
  }, 60000);
});

describe('the upload form', () => {
  it('says, on the form, what is wrong: no file, not a CSV, no rows', async () => {
    const _csrf = await (await import('../helpers/session.js')).csrfFrom(admin, '/admin/imports');
    const none = await admin.post('/admin/imports').field('_csrf', _csrf).expect(422);
    expect(none.text).toContain('Choose a CSV file to upload.');
    expect(none.text).toMatch(/id="file-error"/);
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const image = await uploadCsv(admin, 'members.csv', png, 422);
    expect(image.text).toContain('This is not a CSV file');
    const xlsx = await uploadCsv(admin, 'members.xlsx', 'PK\u0003\u0004', 422);
    expect(xlsx.text).toContain('not a CSV file. Save the sheet as');
    const empty = await uploadCsv(admin, 'empty.csv', 'email,name\n', 422);
    expect(empty.text).toContain('no members under it');
    const broken = await uploadCsv(admin, 'broken.csv', 'email,name\na@example.net,"never closed\n', 422);
    expect(broken.text).toContain('could not be read as CSV');
    expect(await ctx.db('imports').whereIn('file_name', ['empty.csv', 'broken.csv'])).toHaveLength(0);
    expect(await filesIn(uploads())).toEqual([]);
  });

  it('is for admins only, and a stranger’s upload is never written to disk', async () => {
    const { agent: support } = await signedInStaff(ctx, 'import-support@example.org', 'support');
    await support.get('/admin/imports').expect(403);
    const anonymous = await (
      await import('supertest')
    )
      .default(ctx.app)
      .post('/admin/imports')
      .attach('file', Buffer.from('email\na@b.cd\n'), 'x.csv');
    expect([302, 303, 403]).toContain(anonymous.status);
    expect(await filesIn(uploads())).toEqual([]);
  });
});

describe('cancelling before the import is confirmed', () => {
  it('writes nothing and deletes the staged rows', async () => {
    const before = await ctx.db('members').count<{ n: number }[]>('* as n');
    const ledgerBefore = await ctx.db('consent_ledger').count<{ n: number }[]>('* as n');
    const id = await uploaded('cancel-me.csv', 'email,name\ncancel.one@example.net,One\ncancel.two@example.net,Two\n');
    expect((await importState(ctx, id)).status).toBe('checked');
    await postForm(admin, `/admin/imports/${id}/cancel`, `/admin/imports/${id}`, {}, 303);
    expect((await importState(ctx, id)).status).toBe('cancelled');
    expect(await ctx.db('import_rows').where({ import_id: id })).toHaveLength(0);
    expect(await ctx.db('members').count<{ n: number }[]>('* as n')).toEqual(before);
    expect(await ctx.db('consent_ledger').count<{ n: number }[]>('* as n')).toEqual(ledgerBefore);
    expect(await ctx.db('import_invitations').where({ import_id: id })).toHaveLength(0);
    expect(await filesIn(uploads())).toEqual([]);
    await postForm(admin, `/admin/imports/${id}/start`, `/admin/imports/${id}/mapping`, { mode: 'ask' }, 409);
  });
});

describe('a batch that keeps failing', () => {
  it('stops the import as failed, with a reason naming no one, instead of leaving it "Importing"; what it did can be undone', async () => {
    const id = await uploaded('plain.csv', 'email,name\nfay.first@example.net,Fay\ngus.second@example.net,Gus\n');
    expect((await importState(ctx, id)).status).toBe('checked');
    // The database refuses every member an import makes (as a full disk or a changed constraint would).
    await ctx.db.raw('ALTER TABLE members ADD CONSTRAINT test_refuse_imports CHECK (import_id IS NULL) NOT VALID');
    try {
      await postForm(
        admin,
        `/admin/imports/${id}/start`,
        `/admin/imports/${id}`,
        { mode: 'evidence', evidence_where: 'Paper forms', evidence_collected_on: '2020', evidence_reference: 'BOX-7' },
        303,
      );
      // The last of the batch job's attempts, as the worker would run it.
      const task = importTasks(makeServiceContext(ctx.config, ctx.db))[IMPORT_APPLY_TASK]!;
      const helpers = { job: { attempts: 25, max_attempts: 25 }, logger: { debug: () => {}, error: () => {} } };
      await task({ importId: id, after: 0 }, helpers as unknown as JobHelpers);
    } finally {
      await ctx.db.raw('ALTER TABLE members DROP CONSTRAINT test_refuse_imports');
    }
    const imp = await ctx.db('imports').where({ id }).first('status', 'error', 'finished_at');
    expect(imp).toMatchObject({ status: 'failed', finished_at: expect.any(Date) });
    expect(imp.error).toBe('A batch failed 25 times (database error 23514); the import stopped there.');
    expect(await ctx.db('import_rows').where({ import_id: id })).toHaveLength(0);
    const audit = await ctx.db('audit_log').where({ action: 'import.failed' }).first('details');
    expect(audit.details).toMatchObject({ importId: id, attempts: 25, membersCreated: 0 });
    const page = await admin.get(`/admin/imports/${id}`).expect(200);
    expect(page.text).toContain('Failed');
    expect(page.text).toContain('This import stopped.');
    expect(page.text).toContain('Undo this import');
    expect(page.text).not.toContain('Stop the import');
  });
});
