import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobHelpers } from 'graphile-worker';
import { SMTPServer } from 'smtp-server';
import { makeServiceContext, type ServiceContext } from '../../src/context.js';
import { composeEmail } from '../../src/mail/email.js';
import { createMailer } from '../../src/mail/mailer.js';
import { enqueueEmail } from '../../src/mail/outbox.js';
import { findMessagesToSend } from '../../src/mail/outbox.repository.js';
import { MessageReads } from '../../src/mail/message-reads.js';
import { makeSendEmailTask } from '../../src/mail/send-email.task.js';
import { confirmEmailChange } from '../../src/members/details.service.js';
import { issueMemberToken } from '../../src/identity/member-tokens.js';
import { suppressAddress } from '../../src/shared/suppression.js';
import { startTestContext, TEST_SECRET, type TestContext } from '../helpers/app.js';
import { insertQueuedRow } from '../helpers/emails.js';
import { insertMember, suppressLegacy } from '../helpers/fixtures.js';
import type { CaughtMessage } from '../helpers/smtp.js';

/** The send task against PostgreSQL and real SMTP servers: what it refuses to send, and what a 5xx means (C6, C12). */
let ctx: TestContext;
let svc: ServiceContext;
beforeAll(async () => {
  ctx = await startTestContext();
  svc = makeServiceContext(ctx.config, ctx.db);
  await ctx.startWorker();
});
afterAll(() => ctx.close());

const sentTo = (m: CaughtMessage, to: string) => m.envelopeTo.some((a) => a.toLowerCase() === to.toLowerCase());

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An outbox row alone, without a send job: the test runs or reads the send itself. */
const insertRowOnly = (recipient: string, subject: string, memberId: string | null = null) =>
  insertQueuedRow(ctx.db, recipient, subject, memberId);

describe('suppression at send time', () => {
  it('C6: a queued newsletter-type message to a suppressed address is cancelled, not sent, whether its entry was written with the derived key or, before key separation, with the master key', async () => {
    const current = 'suppressed.reader@example.org';
    const legacy = 'suppressed.before.upgrade@example.org';
    await suppressAddress(ctx.db, current, svc.keys.suppression);
    await suppressLegacy(ctx.db, legacy, TEST_SECRET);
    for (const address of [current, legacy]) {
      const id = await ctx.db.transaction((trx) =>
        enqueueEmail(
          trx,
          composeEmail(
            { kind: 'topic_mailing', to: address, memberId: null, subject: 'Monthly bulletin', html: '<p>News</p>', text: 'News' },
            svc.mail,
            {
              transactional: false,
              unsubscribe: { url: 'http://assent.test/u/x', token: 'x' },
            },
          ),
          ctx.outbox,
        ),
      );
      await waitUntil(
        async () => (await ctx.db('email_messages').where({ id }).first('status')).status !== 'queued',
        'the message to be decided',
      );
      expect([address, await ctx.db('email_messages').where({ id }).first('status', 'last_error')]).toEqual([
        address,
        { status: 'cancelled', last_error: 'suppressed' },
      ]);
      expect(ctx.smtp.messages.filter((m) => sentTo(m, address))).toHaveLength(0);
    }
  });
  it('C6: the check made in the same statement as the read matches however the address is written; a non-ASCII one is checked as before', async () => {
    // PostgreSQL hashes plain ASCII (lower-cased, trimmed) as the list does; other addresses are hashed in the process.
    await suppressAddress(ctx.db, ' Mixed.Case@Example.org', svc.keys.suppression);
    await suppressAddress(ctx.db, 'Zoë@example.org', svc.keys.suppression);
    for (const address of ['MIXED.case@example.ORG', 'zoë@example.org']) {
      const id = await ctx.db.transaction((trx) =>
        enqueueEmail(
          trx,
          composeEmail(
            { kind: 'topic_mailing', to: address, memberId: null, subject: 'Monthly bulletin', html: '<p>News</p>', text: 'News' },
            svc.mail,
            { transactional: false, unsubscribe: { url: 'http://assent.test/u/x', token: 'x' } },
          ),
          ctx.outbox,
        ),
      );
      await waitUntil(
        async () => (await ctx.db('email_messages').where({ id }).first('status')).status !== 'queued',
        'the message to be decided',
      );
      expect([address, await ctx.db('email_messages').where({ id }).first('status', 'last_error')]).toEqual([
        address,
        { status: 'cancelled', last_error: 'suppressed' },
      ]);
    }
  });
});

describe('a permanent refusal', () => {
  it('C12: a message finally refused with 5xx marks the address undeliverable; verifying a new address clears the mark', async () => {
    const refusing = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error('550 5.1.1 mailbox unavailable'), { responseCode: 550 }));
      },
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const mailer = createMailer(`smtp://127.0.0.1:${(refusing.server.address() as AddressInfo).port}`, { devCatcher: true });
    try {
      const memberId = await insertMember(ctx.db, 'bounces@example.org');
      // The row alone, without a job: this test runs the send task itself, against the refusing server.
      const id = await insertRowOnly('bounces@example.org', 'Changed', memberId);
      const send = makeSendEmailTask({
        db: ctx.db,
        mailer,
        mailFrom: ctx.config.mailFrom,
        logger: ctx.logger,
        suppressionKeys: svc.keys.suppression,
      });
      await send({ id }, { job: { attempts: 1, max_attempts: 1 } } as unknown as JobHelpers);
      expect(await ctx.db('email_messages').where({ id }).first('status')).toEqual({ status: 'failed' });
      const marked = await ctx.db('members').where({ id: memberId }).first('email_undeliverable_at');
      expect(marked.email_undeliverable_at).toBeInstanceOf(Date);

      const token = await issueMemberToken(ctx.db, memberId, 'email_verify', 60, { email: 'works@example.org' });
      await confirmEmailChange(svc, token);
      expect(await ctx.db('members').where({ id: memberId }).first('email', 'email_undeliverable_at')).toEqual({
        email: 'works@example.org',
        email_undeliverable_at: null,
      });
    } finally {
      mailer.close();
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });
});

describe('reading the messages of sends that run together', () => {
  it('the reads that arrive together share one statement, each gets its own row, and an unknown id reads as nothing', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => insertRowOnly(`together${i}@example.org`, `Together ${i}`)));
    const unknown = randomUUID();
    const statements: string[] = [];
    // This file's worker reads its own jobs' messages meanwhile: only the statements asking for these ids count.
    const ours = [...ids, unknown];
    const count = (q: { sql: string; bindings?: unknown }) => {
      const asked = JSON.stringify(q.bindings ?? []);
      if (q.sql.includes('FROM email_messages e WHERE e.id = ANY') && ours.some((id) => asked.includes(id))) statements.push(q.sql);
    };
    ctx.db.on('query', count);
    try {
      const reads = new MessageReads(ctx.db, svc.keys.suppression);
      // The same message asked for twice at once is read once per statement: the second read waits for the next.
      const rows = await Promise.all([...ids, unknown, ids[0]!].map((id) => reads.read(id)));
      expect(rows.map((r) => r?.subject)).toEqual([...ids.map((_, i) => `Together ${i}`), undefined, 'Together 0']);
      expect(rows.slice(0, 6).map((r) => r?.id)).toEqual(ids);
      expect(statements).toHaveLength(2);
    } finally {
      ctx.db.off('query', count);
    }
  });
});

describe('the prepared statements of a send', () => {
  it('a send reads its row by a prepared statement that still works on a connection that prepared it before the table gained a column', async () => {
    const id = await insertRowOnly('columns@example.org', 'Columns');
    const rate = { perSecond: 100, perHour: 1000 };
    // One connection throughout (a transaction, rolled back): each statement is prepared on it
    // first, then a migration adds a column, as one might while this process keeps running.
    await expect(
      ctx.db.transaction(async (trx) => {
        await findMessagesToSend(trx, [id], svc.keys.suppression);
        await findMessagesToSend(trx, [id], svc.keys.suppression, rate);
        await trx.raw('ALTER TABLE email_messages ADD COLUMN added_later integer');
        const [plain] = await findMessagesToSend(trx, [id], svc.keys.suppression);
        const [slotted] = await findMessagesToSend(trx, [id], svc.keys.suppression, rate);
        expect([plain?.subject, slotted?.subject]).toEqual(['Columns', 'Columns']);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(
      await ctx.db.raw(`SELECT 1 FROM information_schema.columns WHERE table_name = 'email_messages' AND column_name = 'added_later'`),
    ).toMatchObject({ rowCount: 0 });
  });
});
