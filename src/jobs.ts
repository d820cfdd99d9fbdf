import type { TaskList } from 'graphile-worker';
import type { BrandingCache } from './branding/branding.service.js';
import { bulletinTasks } from './bulletins/bulletins.tasks.js';
import type { Config } from './config.js';
import { makeServiceContext } from './context.js';
import type { Db } from './db.js';
import { purgeClosedInquiries } from './inquiries/inquiries.repository.js';
import { purgeExpiredSignups, purgeUsedSignupLinks } from './members/join.repository.js';
import { pruneMemberTokens } from './identity/member-tokens.js';
import { POLICY_NOTICE_BATCH_TASK } from './policies/notices.service.js';
import { makePolicyNoticeBatchTask } from './policies/notices.task.js';
import { CARRY_OUT_REMOVALS_TASK, makeCarryOutRemovalsTask } from './removal/erasure.task.js';
import type { Logger } from './shared/logger.js';
import { pruneRateLimits } from './shared/rate-limit.js';
import { pruneSendRate } from './mail/send-rate.js';
import { DELIVER_WEBHOOK_TASK } from './events/webhook-events.js';
import { makeDeliverWebhookTask } from './integrations/webhooks.deliver.js';
import { pruneWebhookLog } from './integrations/webhooks.repository.js';
import { importTasks } from './imports/imports.tasks.js';
import { markRefusedAddress } from './integrations/bounces.service.js';
import { purgeExpiredInvitations } from './imports/invitations.repository.js';

/**
 * The one place that knows every job the workers run, and when the scheduled ones run. Sending
 * e-mail is the worker's own job (mail/worker.ts); these are the features' jobs, handed to it.
 */

/** Scheduled tasks (graphile-worker crontab lines: minute hour day month weekday task). */
export const CRONTAB = ['*/15 * * * * maintenance', `7 * * * * ${CARRY_OUT_REMOVALS_TASK}`];

export function jobTasks(config: Config, db: Db, logger: Logger, brand?: BrandingCache): TaskList {
  const svc = makeServiceContext(config, db, brand);
  return {
    [CARRY_OUT_REMOVALS_TASK]: makeCarryOutRemovalsTask(svc, logger),
    [POLICY_NOTICE_BATCH_TASK]: makePolicyNoticeBatchTask(svc),
    ...bulletinTasks(svc),
    [DELIVER_WEBHOOK_TASK]: makeDeliverWebhookTask(svc, logger),
    ...importTasks(svc),
    maintenance: async () => {
      await runMaintenance(db, config);
    },
  };
}

/** C12: an address the SMTP server refused for good, handed to the send task (mail/ knows nothing of webhooks). */
export function addressRefusedHook(config: Config, db: Db): (address: string) => Promise<void> {
  const svc = makeServiceContext(config, db);
  return (address) => markRefusedAddress(svc, address);
}

/**
 * One scheduled job for the whole cluster (graphile-worker cron runs it on one worker):
 * purges expired sign-ups and import invitations (C15), remembered confirmation links after 30 days, spent link tokens,
 * old rate-limit windows, old send-rate seconds and sessions, webhook events older than the delivery log keeps, and the
 * questions from the public closed longer ago than their retention (C12).
 */
export async function runMaintenance(
  db: Db,
  config: Pick<Config, 'inquiryRetentionDays'>,
): Promise<{ signupsPurged: number; inquiriesPurged: number }> {
  const signupsPurged = await purgeExpiredSignups(db);
  const inquiriesPurged = await purgeClosedInquiries(db, config.inquiryRetentionDays);
  await pruneMemberTokens(db);
  await purgeUsedSignupLinks(db);
  await pruneRateLimits(db);
  await pruneSendRate(db);
  await pruneWebhookLog(db);
  await purgeExpiredInvitations(db);
  await db('sessions').where('expire', '<', db.fn.now()).delete();
  return { signupsPurged, inquiriesPurged };
}
