import { timingSafeEqual, createHash } from 'node:crypto';
import https from 'node:https';
import express, { Router, type Request, type Response } from 'express';
import MessageValidator from 'sns-validator';
import type { ServiceContext } from '../context.js';
import type { Logger } from '../shared/logger.js';
import { postmarkReports, sesReports } from './bounces.parse.js';
import { recordMailReport, type MailReport } from './bounces.service.js';

/**
 * Where the sending service reports bounces and complaints (issue 12.4). No session, no cookie,
 * no CSRF token: each request proves itself — SES through SNS by its signature (checked with
 * sns-validator against a certificate fetched only from an allowed host) and an allowed topic,
 * Postmark by the basic-auth credentials configured for it. An endpoint that is not configured
 * answers 404, as if it did not exist.
 */
const body = express.text({ type: () => true, limit: '256kb' });

type Json = Record<string, unknown>;

function parseJson(raw: unknown): Json | undefined {
  if (typeof raw !== 'string') return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
}

function validateSns(validator: MessageValidator, message: Json): Promise<void> {
  return new Promise((resolve, reject) => validator.validate(message, (err) => (err ? reject(err) : resolve())));
}

/** SubscribeURL must be https on an allowed SNS host: otherwise it would make us fetch any URL (SSRF). */
function confirmSubscription(url: string, hostPattern: RegExp): Promise<number> {
  const u = new URL(url);
  if (u.protocol !== 'https:' || !hostPattern.test(u.host)) return Promise.reject(new Error('SubscribeURL is not on an allowed SNS host'));
  return new Promise((resolve, reject) => {
    https
      .get(u, { timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('timeout', function (this: { destroy(e: Error): void }) {
        this.destroy(new Error('timeout'));
      })
      .on('error', reject);
  });
}

async function record(svc: ServiceContext, reports: MailReport[], logger: Logger): Promise<void> {
  for (const report of reports) {
    if (!report.address) continue;
    const outcome = await recordMailReport(svc, report);
    logger.info({ event: 'mail_feedback.received', provider: report.provider, kind: report.kind, outcome });
  }
}

const digest = (v: string) => createHash('sha256').update(v).digest();
const sameSecret = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

function basicAuth(req: Request): { user: string; password: string } | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.get('authorization') ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? undefined : { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

export function inboundRouter(svc: ServiceContext, logger: Logger): Router {
  const router = Router();
  const cfg = svc.config.bounces;
  const validator = new MessageValidator(cfg.snsCertHostPattern);

  router.post('/inbound/ses', body, async (req: Request, res: Response) => {
    if (cfg.sesTopicArns.length === 0) return void res.status(404).type('text').send('Not found');
    const sns = parseJson(req.body);
    if (!sns) return void res.status(400).type('text').send('Expected an SNS message (JSON).');
    // The topic is checked before the signature, so a stranger's topic costs us no certificate fetch.
    if (!cfg.sesTopicArns.includes(String(sns.TopicArn))) {
      logger.warn({ event: 'inbound.ses_refused', reason: 'topic' });
      return void res.status(403).type('text').send('This topic is not accepted here.');
    }
    try {
      await validateSns(validator, sns);
    } catch (err) {
      logger.warn({ event: 'inbound.ses_refused', reason: err instanceof Error ? err.message : 'signature' });
      return void res.status(403).type('text').send('The SNS signature could not be verified.');
    }
    if (sns.Type === 'SubscriptionConfirmation') {
      const status = await confirmSubscription(String(sns.SubscribeURL), cfg.snsCertHostPattern).catch(() => 0);
      logger.info({ event: 'inbound.ses_subscription_confirmed', ok: status >= 200 && status < 300 });
      return void res
        .status(status >= 200 && status < 300 ? 200 : 502)
        .type('text')
        .send(status ? 'Subscription confirmed.' : 'Could not confirm.');
    }
    if (sns.Type === 'Notification') {
      const message = parseJson(sns.Message);
      if (message) await record(svc, sesReports(message), logger);
    }
    res.status(200).type('text').send('OK');
  });

  router.post('/inbound/postmark', body, async (req: Request, res: Response) => {
    const creds = cfg.postmark;
    if (!creds) return void res.status(404).type('text').send('Not found');
    const given = basicAuth(req);
    // Both compared, always, in constant time.
    const userOk = sameSecret(given?.user ?? '', creds.user);
    const passwordOk = sameSecret(given?.password ?? '', creds.password);
    if (!given || !userOk || !passwordOk) {
      res.set('WWW-Authenticate', 'Basic realm="assent-inbound", charset="UTF-8"');
      return void res.status(401).type('text').send('Authentication required.');
    }
    const payload = parseJson(req.body);
    if (!payload) return void res.status(400).type('text').send('Expected a Postmark webhook (JSON).');
    await record(svc, postmarkReports(payload), logger);
    res.status(200).type('text').send('OK');
  });

  return router;
}
