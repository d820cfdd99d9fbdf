import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isTimeZone } from './shared/time.js';
import type { Config, DkimConfig, TrustProxy } from './config.types.js';

export type { BouncesConfig, Config, DatabaseSessionConfig, DkimConfig, TrustProxy, WebhooksConfig } from './config.types.js';

/**
 * The one place that reads process.env. Everything else receives the frozen Config,
 * so a bad deployment fails at boot with one line per bad variable, not at first use.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) =>
  z.coerce
    .number({ message: 'must be a whole number' })
    .int({ message: 'must be a whole number' })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` });

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production'], { message: 'must be development, test or production' }).default('development'),
  PORT: int(0, 65535).default(3000),
  BASE_URL: url(['http:', 'https:']).optional(),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  SMTP_URL: url(['smtp:', 'smtps:']).optional(),
  MAIL_FROM: z.string().min(3).optional(),
  SECRET_KEYS: z.string().optional(),
  TRUST_PROXY: z.string().default('false'),
  ORG_NAME: z.string().min(1).max(200).default('Demo Society'),
  ORG_TIMEZONE: z.string().default('UTC').refine(isTimeZone, { message: 'must be a time zone name such as Europe/London or UTC' }),
  PRIVACY_CONTACT: z.string().email({ message: 'must be an e-mail address' }).default('privacy@example.org'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().default('.data'),
  EMBEDDED_PG_PORT: int(1024, 65535).default(54329),
  RUN_WORKER: bool.default(true),
  WORKER_CONCURRENCY: int(1, 100).default(4),
  WORKER_HEARTBEAT_SECONDS: int(1, 300).default(10),
  WORKER_STALE_SECONDS: int(3, 3600).default(60),
  MAIL_MAX_ATTEMPTS: int(1, 25).default(10),
  SEED_DEMO: bool.optional(),
  MIN_AGE: int(13, 21).default(16),
  SIGNUP_EXPIRY_HOURS: int(1, 720).default(48),
  REMOVAL_GRACE_DAYS: int(0, 90).default(30),
  MEMBER_IDLE_MINUTES: int(5, 1440).default(30),
  INQUIRY_RETENTION_DAYS: int(1, 3650).default(90),
  STAFF_IDLE_MINUTES: int(5, 240).default(30),
  ORG_ADDRESS: z.string().max(300).optional(),
  SEND_RATE_PER_SECOND: int(1, 100000).default(20),
  SEND_RATE_PER_HOUR: int(1, 100000000).default(10000),
  DKIM_DOMAIN: z
    .string()
    .regex(/^[a-z0-9.-]+$/i, { message: 'must be a domain name' })
    .optional(),
  DKIM_SELECTOR: z
    .string()
    .regex(/^[a-z0-9._-]+$/i, { message: 'must be a DKIM selector' })
    .optional(),
  DKIM_PRIVATE_KEY: z.string().optional(),
  DKIM_PRIVATE_KEY_FILE: z.string().optional(),
  SMTP_MAX_CONNECTIONS: int(1, 100).default(5),
  WORKER_LOCAL_QUEUE: int(0, 1000).optional(),
  API_RATE_PER_MINUTE: int(1, 100000).default(600),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: bool.optional(),
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, { message: 'must be a comma-separated list of seconds' })
    .optional(),
  WEBHOOK_DISABLE_AFTER_HOURS: int(1, 24 * 30).default(72),
  WEBHOOK_TIMEOUT_SECONDS: int(1, 60).default(10),
  SES_SNS_TOPIC_ARNS: z.string().optional(),
  SNS_CERT_HOST_PATTERN: z.string().refine(validRegExp, { message: 'must be a regular expression' }).optional(),
  POSTMARK_WEBHOOK_USER: z.string().optional(),
  POSTMARK_WEBHOOK_PASSWORD: z.string().optional(),
  SOFT_BOUNCE_LIMIT: int(1, 100).default(3),
  DATABASE_POOL_MAX: int(1, 500).default(10),
  DATABASE_IDLE_IN_TRANSACTION_SECONDS: int(0, 3600).default(30),
  DATABASE_KEEPALIVE_SECONDS: int(1, 3600).default(10),
  SHUTDOWN_GRACE_SECONDS: int(1, 3600).default(15),
  SMTP_TIMEOUT_SECONDS: int(1, 600).default(10),
});

function validRegExp(v: string): boolean {
  try {
    new RegExp(v);
    return true;
  } catch {
    return false;
  }
}

/**
 * Standard Webhooks' retry schedule (the delays after each failed attempt): 5 s, 5 min, 30 min,
 * 2 h, 5 h, 10 h, 10 h — eight attempts over 27 hours and a half.
 */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];
/** AWS SNS signing certificates are served from sns.<region>.amazonaws.com (sns-validator's own pattern). */
export const DEFAULT_SNS_CERT_HOST_PATTERN = '^sns\\.[a-zA-Z0-9\\-]{3,}\\.amazonaws\\.com(\\.cn)?$';

function parseTrustProxy(raw: string): TrustProxy {
  if (raw === 'true') return true;
  if (raw === 'false' || raw === '') return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw;
}

/** Development keeps one generated key under DATA_DIR so signed links survive restarts. */
function developmentKeys(dataDir: string): string[] {
  const file = path.join(dataDir, 'secret-keys');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  }
  return [readFileSync(file, 'utf8').trim()];
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`));
  }
  const e = parsed.data;
  const isProduction = e.NODE_ENV === 'production';
  const problems: string[] = [];

  if (isProduction) {
    if (!e.DATABASE_URL) problems.push('DATABASE_URL must be set in production (postgres://user:password@host:5432/db)');
    if (!e.SMTP_URL) problems.push('SMTP_URL must be set in production (smtp://user:password@host:587)');
    if (!e.SECRET_KEYS) problems.push('SECRET_KEYS must be set in production (comma-separated, 32+ random characters each)');
    if (!e.BASE_URL) problems.push('BASE_URL must be set in production (the public https:// origin)');
    else if (!e.BASE_URL.startsWith('https://')) problems.push('BASE_URL must start with https:// in production');
  }
  let secretKeys: string[] = [];
  if (e.SECRET_KEYS) {
    secretKeys = e.SECRET_KEYS.split(',').map((k) => k.trim());
    if (secretKeys.some((k) => k.length < 32)) {
      problems.push('SECRET_KEYS each key must be at least 32 characters long');
    }
  }
  if (isProduction && !e.ORG_ADDRESS?.trim()) {
    problems.push("ORG_ADDRESS must be set in production (the organisation's postal address, shown in every bulletin)");
  }
  const dkim = dkimConfig(e, problems);
  if (e.WORKER_STALE_SECONDS <= 2 * e.WORKER_HEARTBEAT_SECONDS) {
    problems.push('WORKER_STALE_SECONDS must be more than twice WORKER_HEARTBEAT_SECONDS, or a live worker could be taken for dead');
  }
  if (e.SMTP_TIMEOUT_SECONDS >= e.SHUTDOWN_GRACE_SECONDS) {
    problems.push(
      'SMTP_TIMEOUT_SECONDS must be less than SHUTDOWN_GRACE_SECONDS, or a send to a hung SMTP server could outlast the shutdown',
    );
  }
  if (isProduction && e.WEBHOOK_ALLOW_PRIVATE_TARGETS) {
    problems.push('WEBHOOK_ALLOW_PRIVATE_TARGETS cannot be true in production (webhooks to private addresses are refused, SSRF)');
  }
  if (Boolean(e.POSTMARK_WEBHOOK_USER) !== Boolean(e.POSTMARK_WEBHOOK_PASSWORD)) {
    problems.push('POSTMARK_WEBHOOK_USER and POSTMARK_WEBHOOK_PASSWORD must be set together');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  if (secretKeys.length === 0) secretKeys = developmentKeys(e.DATA_DIR);

  const baseUrl = (e.BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  const host = new URL(baseUrl).hostname;
  return Object.freeze({
    env: e.NODE_ENV,
    isProduction,
    port: e.PORT,
    baseUrl,
    databaseUrl: e.DATABASE_URL,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM ?? `"${e.ORG_NAME.replace(/"/g, '')}" <no-reply@${host === 'localhost' ? 'localhost.localdomain' : host}>`,
    secretKeys: Object.freeze(secretKeys),
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    orgName: e.ORG_NAME,
    orgTimeZone: e.ORG_TIMEZONE,
    privacyContact: e.PRIVACY_CONTACT,
    logLevel: e.LOG_LEVEL,
    dataDir: path.resolve(e.DATA_DIR),
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    runWorker: e.RUN_WORKER,
    workerConcurrency: e.WORKER_CONCURRENCY,
    workerHeartbeatSeconds: e.WORKER_HEARTBEAT_SECONDS,
    workerStaleSeconds: e.WORKER_STALE_SECONDS,
    mailMaxAttempts: e.MAIL_MAX_ATTEMPTS,
    seedDemo: e.SEED_DEMO ?? e.DATABASE_URL === undefined,
    minAge: e.MIN_AGE,
    signupExpiryHours: e.SIGNUP_EXPIRY_HOURS,
    removalGraceDays: e.REMOVAL_GRACE_DAYS,
    memberIdleMinutes: e.MEMBER_IDLE_MINUTES,
    inquiryRetentionDays: e.INQUIRY_RETENTION_DAYS,
    staffIdleMinutes: e.STAFF_IDLE_MINUTES,
    orgAddress: (e.ORG_ADDRESS ?? '').trim() || '1 Example Street, Exampletown (set ORG_ADDRESS)',
    sendRate: Object.freeze({ perSecond: e.SEND_RATE_PER_SECOND, perHour: e.SEND_RATE_PER_HOUR }),
    dkim,
    smtpMaxConnections: e.SMTP_MAX_CONNECTIONS,
    workerLocalQueue: e.WORKER_LOCAL_QUEUE ?? 2 * e.WORKER_CONCURRENCY,
    apiRatePerMinute: e.API_RATE_PER_MINUTE,
    webhooks: Object.freeze({
      allowPrivateTargets: e.WEBHOOK_ALLOW_PRIVATE_TARGETS ?? !isProduction,
      retrySchedule: Object.freeze(
        e.WEBHOOK_RETRY_SCHEDULE ? e.WEBHOOK_RETRY_SCHEDULE.split(',').map((v) => Number(v.trim())) : DEFAULT_WEBHOOK_RETRY_SCHEDULE,
      ),
      disableAfterHours: e.WEBHOOK_DISABLE_AFTER_HOURS,
      timeoutSeconds: e.WEBHOOK_TIMEOUT_SECONDS,
    }),
    bounces: Object.freeze({
      sesTopicArns: Object.freeze(
        (e.SES_SNS_TOPIC_ARNS ?? '')
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      ),
      snsCertHostPattern: new RegExp(e.SNS_CERT_HOST_PATTERN ?? DEFAULT_SNS_CERT_HOST_PATTERN),
      postmark:
        e.POSTMARK_WEBHOOK_USER && e.POSTMARK_WEBHOOK_PASSWORD
          ? Object.freeze({ user: e.POSTMARK_WEBHOOK_USER, password: e.POSTMARK_WEBHOOK_PASSWORD })
          : undefined,
      softBounceLimit: e.SOFT_BOUNCE_LIMIT,
    }),
    databasePoolMax: e.DATABASE_POOL_MAX,
    shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
    smtpTimeoutSeconds: e.SMTP_TIMEOUT_SECONDS,
    databaseSession: Object.freeze({
      idleInTransactionSeconds: e.DATABASE_IDLE_IN_TRANSACTION_SECONDS,
      keepAliveSeconds: e.DATABASE_KEEPALIVE_SECONDS,
    }),
  });
}

/** DKIM needs all three: the domain, the selector and the private key (given inline or as a file). */
function dkimConfig(e: z.infer<typeof schema>, problems: string[]): DkimConfig | undefined {
  const given = [e.DKIM_DOMAIN, e.DKIM_SELECTOR, e.DKIM_PRIVATE_KEY ?? e.DKIM_PRIVATE_KEY_FILE];
  if (given.every((v) => v === undefined)) return undefined;
  if (given.some((v) => v === undefined)) {
    problems.push('DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY (or DKIM_PRIVATE_KEY_FILE) must be set together');
    return undefined;
  }
  let privateKey = e.DKIM_PRIVATE_KEY?.replace(/\\n/g, '\n');
  if (privateKey === undefined) {
    try {
      privateKey = readFileSync(e.DKIM_PRIVATE_KEY_FILE as string, 'utf8');
    } catch {
      problems.push(`DKIM_PRIVATE_KEY_FILE cannot be read: ${e.DKIM_PRIVATE_KEY_FILE as string}`);
      return undefined;
    }
  }
  if (!privateKey.includes('PRIVATE KEY-----')) {
    problems.push('DKIM_PRIVATE_KEY must be a PEM private key (-----BEGIN PRIVATE KEY-----)');
    return undefined;
  }
  return Object.freeze({ domainName: e.DKIM_DOMAIN as string, keySelector: e.DKIM_SELECTOR as string, privateKey });
}
