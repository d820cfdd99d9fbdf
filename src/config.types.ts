/** The shape of the configuration loadConfig (src/config.ts) returns: what the rest of the code may rely on. */

export type TrustProxy = boolean | number | string;

export interface Config {
  readonly env: 'development' | 'test' | 'production';
  readonly isProduction: boolean;
  readonly port: number;
  readonly baseUrl: string;
  /** Undefined means: start the embedded PostgreSQL. */
  readonly databaseUrl: string | undefined;
  /** Undefined means: start the development mail catcher. */
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  /** The first key signs; every key verifies (rotation). */
  readonly secretKeys: readonly string[];
  readonly trustProxy: TrustProxy;
  readonly orgName: string;
  /** IANA zone in which times are shown to members and staff. */
  readonly orgTimeZone: string;
  readonly privacyContact: string;
  readonly logLevel: string;
  readonly dataDir: string;
  readonly embeddedPgPort: number;
  readonly runWorker: boolean;
  readonly workerConcurrency: number;
  /** How often a job runner records in PostgreSQL that it is alive. */
  readonly workerHeartbeatSeconds: number;
  /** A runner silent this long is taken for dead: its jobs are unlocked and run again. */
  readonly workerStaleSeconds: number;
  readonly mailMaxAttempts: number;
  readonly seedDemo: boolean;
  /** C13: joining requires confirming at least this age. */
  readonly minAge: number;
  /** C15: unconfirmed sign-ups are purged after this. */
  readonly signupExpiryHours: number;
  /** C6: a confirmed removal is carried out this many days later. */
  readonly removalGraceDays: number;
  /** C12: a closed question from the public is deleted this many days after closing. */
  readonly inquiryRetentionDays: number;
  /** C11: a member's session ends after this long without a request. */
  readonly memberIdleMinutes: number;
  /** C11: a staff session ends after this long without a request. */
  readonly staffIdleMinutes: number;
  /** The organisation's postal address, in every bulletin's footer (required in production). */
  readonly orgAddress: string;
  /** Bulletin messages handed to SMTP, across every worker process. */
  readonly sendRate: { readonly perSecond: number; readonly perHour: number };
  /** When set, nodemailer DKIM-signs every message. */
  readonly dkim: DkimConfig | undefined;
  /** Connections in the process's knex pool: requests beyond it wait for one. */
  readonly databasePoolMax: number;
  /** Settings of every PostgreSQL session the process opens (web and worker alike). */
  readonly databaseSession: DatabaseSessionConfig;
  /** SIGTERM/SIGINT: how long the process may take to finish what it is doing before it exits 1 anyway. */
  readonly shutdownGraceSeconds: number;
  /**
   * How long the mailer waits for a connection, for the server's greeting, and for any answer once
   * connected; less than the grace, so a hung SMTP server fails the send instead of the shutdown.
   */
  readonly smtpTimeoutSeconds: number;
  /** SMTP connections the mailer of each process keeps open at most (its pool). */
  readonly smtpMaxConnections: number;
  /** Jobs a runner claims at once into its local queue (graphile-worker localQueue); 0 or 1: one at a time. */
  readonly workerLocalQueue: number;
  /** REST API calls one key may make per minute (issue 12). */
  readonly apiRatePerMinute: number;
  /** Outgoing webhooks (issue 12.3). */
  readonly webhooks: WebhooksConfig;
  /** Bounces and complaints coming back from the sending service (issue 12.4). */
  readonly bounces: BouncesConfig;
}

export interface WebhooksConfig {
  /** Endpoints on loopback, private or link-local addresses: allowed in development and test only (SSRF). */
  readonly allowPrivateTargets: boolean;
  /** Seconds to wait after each failed attempt; the last failure ends the delivery as failed. */
  readonly retrySchedule: readonly number[];
  /** An endpoint failing this long is disabled and the admins are told. */
  readonly disableAfterHours: number;
  readonly timeoutSeconds: number;
}

export interface BouncesConfig {
  /** SNS topics whose messages are accepted at /inbound/ses; none means the endpoint is off. */
  readonly sesTopicArns: readonly string[];
  /** Hosts the SNS signing certificate (and the subscription confirmation) may be fetched from. */
  readonly snsCertHostPattern: RegExp;
  /** Basic-auth credentials Postmark's webhooks must send to /inbound/postmark; unset means off. */
  readonly postmark: { readonly user: string; readonly password: string } | undefined;
  /** Temporary failures in a row after which an address is marked undeliverable (C12). */
  readonly softBounceLimit: number;
}

export interface DatabaseSessionConfig {
  /**
   * PostgreSQL ends a session left idle inside a transaction this long (0: never), releasing its
   * locks: the open transaction of a worker whose machine vanished does not block the re-run.
   */
  readonly idleInTransactionSeconds: number;
  /** TCP keepalive on both ends of each connection: probes start after this long without traffic. */
  readonly keepAliveSeconds: number;
}

export interface DkimConfig {
  readonly domainName: string;
  readonly keySelector: string;
  readonly privateKey: string;
}
