import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { LINK_CONFIRM_FIELD, mintConfirmField } from '../../src/shared/http/link-confirm.js';
import { purposeKey } from '../../src/shared/keys.js';
import { addressHash, suppressionKeys } from '../../src/shared/suppression.js';
import { TEST_SECRET, type TestContext } from '../helpers/app.js';
import { importIdOf, postForm, uploadCsv, waitForStatus } from '../helpers/imports.js';
import { waitFor } from '../helpers/jobs.js';
import { linkIn } from '../helpers/session.js';
import { startSeededContext } from '../helpers/seeded.js';
import { signedInStaff, type Agent } from '../helpers/staff.js';

/** Issue 14: what an import may and may not do with consent (C1, C6, C15), and undoing one. */
let ctx: TestContext;
let admin: Agent;
let topic: Record<string, number>;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'assent-imports-'));
  ({ ctx, topic } = await startSeededContext({ env: { DATA_DIR: dataDir } }));
  ({ agent: admin } = await signedInStaff(ctx, 'import-consent-admin@example.org', 'admin'));
}, 60000);
afterAll(async () => {
  await ctx?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function uploaded(name: string, content: string): Promise<number> {
  return importIdOf((await uploadCsv(admin, name, content, 303)).headers.location);
}

const evidence = {
  mode: 'evidence',
  evidence_where: 'Paper forms at the 2023 AGM',
  evidence_collected_on: 'May 2023',
  evidence_reference: 'BOX-7',
};

async function importWithEvidence(name: string, csv: string, mapping: Record<string, string>): Promise<number> {
  const id = await uploaded(name, csv);
  await postForm(admin, `/admin/imports/${id}/mapping`, `/admin/imports/${id}/mapping`, mapping, 303);
  await postForm(admin, `/admin/imports/${id}/start`, `/admin/imports/${id}`, evidence, 303);
  await waitForStatus(ctx, id, 'applied');
  return id;
}

function answer(pathname: string, fields: Record<string, string | string[]>) {
  return request(ctx.http)
    .post(pathname)
    .set('Sec-Fetch-Site', 'same-origin')
    .type('form')
    .send({ [LINK_CONFIRM_FIELD]: mintConfirmField(purposeKey(TEST_SECRET, 'link-confirm'), pathname, null), ...fields });
}

describe('C1: an import cannot opt anyone in to a partner offer or data sharing', () => {
  it('C1: the database refuses an imported opt-in to a third-party offer or partner sharing', async () => {
    const id = await importWithEvidence('c1.csv', 'email,name\nc1.person@example.net,C One\n', { email: '1', name: '2' });
    const member = await ctx.db('members').where('email', 'c1.person@example.net').first('id');
    const policy = await ctx.db('policy_versions').whereNotNull('published_at').orderBy('effective_at', 'desc').first('id');
    for (const slug of ['partner-offers', 'share-with-insurer']) {
      await expect(
        ctx.db('consent_ledger').insert({
          member_id: member.id,
          topic_id: topic[slug],
          to_status: 'opted_in',
          source: 'import',
          channel: 'system',
          policy_version_id: policy.id,
          request_reference: 'BOX-7',
          import_id: id,
        }),
      ).rejects.toThrow(/C1: an opt-in to a (third_party_offer|partner_data_sharing) topic needs an explicit act/);
    }
  });

  it('C1: the mapping screen offers only newsletters and announcements, and ignores a partner topic posted anyway', async () => {
    const id = await uploaded('c1-map.csv', 'email,name,offers\nc1.map@example.net,Map,yes\n');
    const page = await admin.get(`/admin/imports/${id}/mapping`).expect(200);
    expect(page.text).toContain(`name="topic_${topic['monthly-bulletin']}"`);
    expect(page.text).not.toContain(`name="topic_${topic['partner-offers']}"`);
    await postForm(
      admin,
      `/admin/imports/${id}/mapping`,
      `/admin/imports/${id}/mapping`,
      { email: '1', [`topic_${topic['partner-offers']}`]: '3', [`topic_${topic['share-with-insurer']}`]: 'all' },
      303,
    );
    expect((await ctx.db('imports').where({ id }).first('mapping')).mapping.topics).toEqual([]);
  });
});

describe('"ask them" mode (C15, C6)', () => {
  let id: number;

  it('C15: sends exactly one re-permission mail per new address and records nothing until they confirm; C6: never a suppressed one', async () => {
    await ctx
      .db('suppression_list')
      .insert({ address_hash: addressHash('gone.ask@example.net', suppressionKeys(ctx.config.secretKeys).write), reason: 'erased' });
    const csv = 'email,name\nask.one@example.net,Ask One\nask.two@example.net,Ask Two\ngone.ask@example.net,Gone\nAda@Example.org,Ada\n';
    id = await uploaded('ask.csv', csv);
    await postForm(admin, `/admin/imports/${id}/start`, `/admin/imports/${id}`, { mode: 'ask' }, 303);
    await waitForStatus(ctx, id, 'applied');
    await ctx.smtp.waitFor((m) => m.envelopeTo.includes('ask.two@example.net'));
    await ctx.smtp.waitFor((m) => m.envelopeTo.includes('ask.one@example.net'));
    // Give a stray second copy time to arrive.
    await new Promise((r) => setTimeout(r, 1500));
    const invitations = ctx.smtp.messages.filter((m) => /confirm what you want/.test(m.parsed.subject ?? ''));
    expect(invitations.map((m) => m.envelopeTo[0]).sort()).toEqual(['ask.one@example.net', 'ask.two@example.net']);
    expect(ctx.smtp.messages.some((m) => m.envelopeTo.includes('gone.ask@example.net'))).toBe(false);
    expect(await ctx.db('email_messages').where({ recipient: 'gone.ask@example.net' })).toHaveLength(0);
    expect(await ctx.db('email_messages').where({ kind: 'import_invitation', rate_limited: true })).toHaveLength(2);
    expect(ctx.smtp.messages.some((m) => m.envelopeTo.includes('ada@example.org'))).toBe(false);
    expect(await ctx.db('members').whereIn('email', ['ask.one@example.net', 'ask.two@example.net'])).toHaveLength(0);
    expect(await ctx.db('consent_ledger').where({ import_id: id })).toHaveLength(0);
    expect(invitations[0]!.parsed.text).toContain('We are moving to a new system');
  });

  it('C15: the owner becomes a member only by confirming what they want, nothing ticked for them (C1, C13)', async () => {
    const mail = ctx.smtp.messages.find((m) => m.envelopeTo.includes('ask.one@example.net'))!;
    const link = linkIn(mail.parsed.text ?? '', '/join/invited/');
    const page = await request(ctx.http).get(link).expect(200);
    expect(page.text).toContain('Confirm what you want');
    expect(page.text).not.toMatch(/name="topics"[^>]*checked/);
    const noAge = await answer(link, { topics: String(topic['research-digest']) }).expect(422);
    expect(noAge.text).toContain('Please confirm that you are 16 or older');
    expect(await ctx.db('members').where('email', 'ask.one@example.net')).toHaveLength(0);
    await answer(link, { topics: String(topic['research-digest']), age_confirmed: 'yes' }).expect(200);
    const member = await ctx.db('members').where('email', 'ask.one@example.net').first();
    expect(member).toMatchObject({ status: 'active', import_id: id, name: 'Ask One' });
    const events = await ctx.db('consent_ledger').where({ member_id: member.id });
    expect(events.map((e) => [e.topic_id, e.source, e.to_status])).toEqual([[topic['research-digest'], 'signup', 'opted_in']]);
    await ctx.smtp.waitFor((m) => m.envelopeTo.includes('ask.one@example.net') && /welcome/.test(m.parsed.subject ?? ''));
    await answer(link, { age_confirmed: 'yes' }).expect(400);
  });

  it('undo withdraws the unanswered invitation and keeps the one who confirmed', async () => {
    await postForm(admin, `/admin/imports/${id}/undo`, `/admin/imports/${id}`, {}, 303);
    const imp = await ctx.db('imports').where({ id }).first('status', 'undo_counts');
    expect(imp).toMatchObject({ status: 'undone', undo_counts: { removed: 0, kept: 1, invitationsWithdrawn: 1 } });
    expect(await ctx.db('members').where('email', 'ask.one@example.net')).toHaveLength(1);
    expect(await ctx.db('import_invitations').where({ import_id: id })).toHaveLength(0);
  });
});

describe('undoing an evidence import', () => {
  it('removes exactly the members nobody has touched since, with their imported consents', async () => {
    const csv = 'email,name\nundo.quiet@example.net,Quiet\nundo.chooser@example.net,Chooser\nundo.mover@example.net,Mover\n';
    const id = await importWithEvidence('undo.csv', csv, { email: '1', name: '2', [`topic_${topic.announcements}`]: 'all' });
    const byEmail = async (email: string) => (await ctx.db('members').where({ email }).first('id', 'updated_at')) as { id: string };
    const quiet = await byEmail('undo.quiet@example.net');
    const chooser = await byEmail('undo.chooser@example.net');
    const mover = await byEmail('undo.mover@example.net');
    // The chooser opts out on their preference page; the mover corrects their name.
    const policy = await ctx.db('policy_versions').whereNotNull('published_at').orderBy('effective_at', 'desc').first('id');
    const [ev] = await ctx
      .db('consent_ledger')
      .insert({
        member_id: chooser.id,
        topic_id: topic.announcements,
        from_status: 'opted_in',
        to_status: 'opted_out',
        source: 'member_web',
        channel: 'web',
        policy_version_id: policy.id,
      })
      .returning('id');
    await ctx
      .db('consents')
      .where({ member_id: chooser.id, topic_id: topic.announcements })
      .update({ status: 'opted_out', last_event_id: ev.id });
    await ctx
      .db('members')
      .where({ id: mover.id })
      .update({ name: 'Mover Corrected', updated_at: ctx.db.raw(`now() + interval '1 second'`) });

    await postForm(admin, `/admin/imports/${id}/undo`, `/admin/imports/${id}`, {}, 303);
    expect(await ctx.db('imports').where({ id }).first('status', 'undo_counts')).toEqual({
      status: 'undone',
      undo_counts: { removed: 1, kept: 2, invitationsWithdrawn: 0 },
    });
    expect(await ctx.db('members').where({ id: quiet.id })).toHaveLength(0);
    expect(await ctx.db('consent_ledger').where({ member_id: quiet.id })).toHaveLength(0);
    expect(await ctx.db('members').whereIn('id', [chooser.id, mover.id])).toHaveLength(2);
    expect(await ctx.db('consent_ledger').where({ import_id: id })).toHaveLength(2);
    const page = await admin.get(`/admin/imports/${id}`).expect(200);
    expect(page.text).toContain('1 members removed, 2 kept');
    expect(page.text).not.toContain('Undo this import');
    const audit = await ctx.db('audit_log').where({ action: 'import.undone' }).orderBy('id', 'desc').first('details');
    expect(audit.details).toMatchObject({ importId: id, removed: 1, kept: 2 });
  });

  it('the ledger stays append-only: an import’s events can go only while it is being undone, within 7 days', async () => {
    const id = await importWithEvidence('late.csv', 'email\nundo.late@example.net\n', {
      email: '1',
      [`topic_${topic.announcements}`]: 'all',
    });
    await expect(ctx.db('consent_ledger').where({ import_id: id }).delete()).rejects.toThrow(/append-only/);
    await ctx
      .db('imports')
      .where({ id })
      .update({ status: 'undoing', finished_at: ctx.db.raw(`now() - interval '8 days'`) });
    await expect(ctx.db('consent_ledger').where({ import_id: id }).delete()).rejects.toThrow(/append-only/);
    await ctx.db('imports').where({ id }).update({ status: 'applied' });
    await postForm(admin, `/admin/imports/${id}/undo`, `/admin/imports/${id}`, {}, 409);
    await expect(ctx.db('consent_ledger').where({ source: 'signup' }).delete()).rejects.toThrow(/append-only/);
    await waitFor(async () => (await ctx.db('consent_ledger').where({ import_id: id })).length === 1, 'the events to be kept');
  });
});
