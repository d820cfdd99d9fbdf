import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { insertStaffUser } from '../../src/auth/staff.repository.js';
import { confirmSend, createBulletin } from '../../src/bulletins/bulletins.service.js';
import { loadConfig } from '../../src/config.js';
import { makeServiceContext } from '../../src/context.js';
import { insertPopulation } from '../helpers/fanout.js';
import { startFaultRig, type FaultRig } from '../helpers/fault-rig.js';
import { eventually, startProcess, type AppProcess } from '../helpers/processes.js';

/**
 * A real worker process (`npm run worker`) sending a bulletin is killed with SIGKILL while the
 * SMTP server holds messages it has received but not yet answered, and a new worker is started.
 * Every remaining message is delivered; the only ones a member may get twice are those in flight
 * at the instant of the kill (C3, C4).
 */
let rig: FaultRig;
const processes: AppProcess[] = [];
beforeAll(async () => {
  rig = await startFaultRig();
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await rig.close();
});

async function worker(url: string): Promise<AppProcess> {
  const p = startProcess('src/worker.ts', rig.env(url, { SEND_RATE_PER_SECOND: '1000' }));
  processes.push(p);
  await p.waitForLog((l) => l.event === 'worker.started', 'the worker to start');
  return p;
}

describe('a worker killed while sending a bulletin', () => {
  it('C3: SIGKILL mid-send: a new worker delivers every remaining message; only those in flight at the kill may arrive twice', async () => {
    const t = await rig.database();
    const people = await insertPopulation(t.db, 300, 'reader');
    const svc = makeServiceContext(loadConfig(rig.env(t.url, { SEND_RATE_PER_SECOND: '1000' })), t.db);
    const staffId = await insertStaffUser(t.db, {
      email: 'editor@example.org',
      name: 'Editor',
      role: 'editor',
      passwordHash: 'not used here',
    });
    const id = await createBulletin(svc, staffId, {
      topic_id: people.topicId,
      subject: 'Killed mid-send',
      preheader: '',
      body: 'Hello.',
      web_version: false,
    });
    const smtp = rig.smtp;
    smtp.messages.length = 0;
    smtp.setDelay(20);
    await confirmSend(svc, staffId, id, { when: 'now', at: undefined, audience: 300 }, { batchSize: 50 });

    const first = await worker(t.url);
    // Some delivered, then the server holds what it receives: the kill comes with sends in flight.
    await eventually(async () => smtp.messages.length >= 40 || undefined, 'forty delivered');
    smtp.setDelay(5000);
    await eventually(async () => smtp.inFlight() >= 4 || undefined, 'four sends in flight');
    const inFlightAtKill = smtp.inFlightRecipients();
    first.child.kill('SIGKILL');
    await first.exited;
    const sentBeforeKill = smtp.messages.length;
    smtp.setDelay(0);

    await worker(t.url);
    await eventually(
      async () => (await t.db('bulletins').where({ id }).first('status')).status === 'sent' || undefined,
      'the bulletin to be sent',
      120000,
    );
    await eventually(async () => smtp.inFlight() === 0 || undefined, 'the SMTP server to finish what it received');

    const counts = new Map<string, number>();
    for (const msg of smtp.messages.filter((x) => x.parsed.subject === 'Killed mid-send'))
      for (const to of msg.envelopeTo) counts.set(to, (counts.get(to) ?? 0) + 1);
    const everyone = [...people.emails.values()];
    expect(everyone.filter((e) => !counts.has(e))).toEqual([]);
    const twice = everyone.filter((e) => (counts.get(e) ?? 0) > 1);
    expect(everyone.filter((e) => (counts.get(e) ?? 0) > 2)).toEqual([]);
    expect(twice.filter((e) => !inFlightAtKill.includes(e))).toEqual([]);
    expect(await t.db('email_messages').where({ kind: 'bulletin', status: 'sent' }).count({ n: '*' })).toEqual([{ n: 300 }]);
    expect(await t.db('bulletin_recipients').where({ bulletin_id: id }).count({ n: '*' })).toEqual([{ n: 300 }]);
    process.stdout.write(
      `bulletin kill: ${inFlightAtKill.length} in flight at the kill (${sentBeforeKill} delivered before), ${twice.length} delivered twice\n`,
    );
  }, 180000);
});
