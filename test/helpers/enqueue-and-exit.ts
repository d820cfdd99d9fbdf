/**
 * Run as a separate process by the outbox test: enqueue one e-mail, commit, and exit at once
 * with a failure code, as a process that dies right after its commit would.
 */
import { createDb } from '../../src/db.js';
import { enqueueEmail } from '../../src/mail/outbox.js';
import { createLogger } from '../../src/shared/logger.js';

const [url, to] = process.argv.slice(2) as [string, string];
const db = createDb(url, createLogger('silent'), 1);
await db.transaction((trx) =>
  enqueueEmail(
    trx,
    {
      kind: 'crash_test',
      to,
      subject: 'Sent after the process died',
      text: 'body',
      html: '<p>body</p>',
      headers: {},
      memberId: null,
      topicId: null,
    },
    { messageIdHost: 'assent.test', maxAttempts: 3 },
  ),
);
process.exit(1);
