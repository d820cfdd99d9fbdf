import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { makeServiceContext } from '../../src/context.js';
import { confirmSend, createBulletin } from '../../src/bulletins/bulletins.service.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { insertOptedInMembers, insertPolicy, insertTopic } from '../helpers/fixtures.js';
import type { CaughtMessage } from '../helpers/smtp.js';
import { createStaff } from '../helpers/staff.js';

/**
 * With DKIM_DOMAIN, DKIM_SELECTOR and a private key (here from DKIM_PRIVATE_KEY_FILE), nodemailer
 * signs every message; a sent bulletin's signature is verified against the public key (mailauth,
 * with the key served by a resolver of the test's own instead of DNS), and it covers
 * List-Unsubscribe and List-Unsubscribe-Post as RFC 8058 §3 requires.
 */
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const dir = mkdtempSync(path.join(tmpdir(), 'assent-dkim-'));
const keyFile = path.join(dir, 'dkim.pem');
const TXT = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
const resolver = async (name: string, type: string) => {
  if (type === 'TXT' && name === 'mail2026._domainkey.assent.test') return [[TXT]];
  throw Object.assign(new Error(`no ${type} record for ${name}`), { code: 'ENOTFOUND' });
};

let ctx: TestContext;
let bulletin: CaughtMessage;
beforeAll(async () => {
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  ctx = await startTestContext({ DKIM_DOMAIN: 'assent.test', DKIM_SELECTOR: 'mail2026', DKIM_PRIVATE_KEY_FILE: keyFile });
  const svc = makeServiceContext(ctx.config, ctx.db);
  const policyId = await insertPolicy(ctx.db, { version: '1.0' });
  const topicId = await insertTopic(ctx.db, { slug: 'signed-news', kind: 'newsletter', policyId });
  await insertOptedInMembers(ctx.db, { count: 1, topicId, policyId, prefix: 'signed', domain: 'example.org' });
  const staffId = await createStaff(ctx, 'editor@example.org', 'editor');
  const id = await createBulletin(svc, staffId, {
    topic_id: topicId,
    subject: 'Signed',
    preheader: '',
    body: 'Hello.',
    web_version: false,
  });
  await ctx.startWorker();
  await confirmSend(svc, staffId, id, { when: 'now', at: undefined, audience: 1 });
  bulletin = await ctx.smtp.waitFor((m) => m.parsed.subject === 'Signed', 20000);
});
afterAll(async () => {
  await ctx.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('DKIM', () => {
  it('C4: a sent bulletin is DKIM-signed for the domain, the signature verifies and covers List-Unsubscribe and List-Unsubscribe-Post', async () => {
    const { results } = await dkimVerify(Buffer.from(bulletin.raw), { resolver });
    expect(results).toHaveLength(1);
    const [r] = results;
    expect(r!.status.result).toBe('pass');
    expect(r!.signingDomain).toBe('assent.test');
    expect(r!.selector).toBe('mail2026');
    // The h= tag of the signature: the header fields it covers.
    const signature = /^DKIM-Signature:.*(?:\r?\n[ \t].*)*/im.exec(bulletin.raw)![0].replace(/\s+/g, '');
    const signed = /;h=([^;]+)/.exec(signature)![1]!.toLowerCase().split(':');
    expect(signed).toEqual(
      expect.arrayContaining(['from', 'subject', 'message-id', 'list-id', 'list-unsubscribe', 'list-unsubscribe-post']),
    );
  });

  it('changing the signed List-Unsubscribe-Post or List-Unsubscribe breaks the signature', async () => {
    for (const [from, to] of [
      ['List-Unsubscribe-Post: List-Unsubscribe=One-Click', 'List-Unsubscribe-Post: List-Unsubscribe=Two-Clicks'],
      ['List-Unsubscribe: <http://assent.test/unsubscribe/', 'List-Unsubscribe: <http://evil.test/unsubscribe/'],
    ] as const) {
      expect(bulletin.raw).toContain(from);
      const { results } = await dkimVerify(Buffer.from(bulletin.raw.replace(from, to)), { resolver });
      expect([from, results[0]!.status.result]).toEqual([from, 'fail']);
    }
  });
});
