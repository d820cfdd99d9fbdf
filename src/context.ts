import type { Knex } from 'knex';
import type { Config } from './config.js';
import type { Db } from './db.js';
import { mailBrand, type BuiltEmail, type MailContext } from './mail/email.js';
import { enqueueEmail, type OutboxOptions } from './mail/outbox.js';
import { BrandingCache } from './branding/branding.service.js';
import { Links } from './shared/links.js';
import { suppressionKeys, type SuppressionKeys } from './shared/suppression.js';

/** Purpose keys derived from SECRET_KEYS (shared/keys.ts) once, when the context is made, not per request. */
export interface ServiceKeys {
  readonly suppression: SuppressionKeys;
}

/**
 * What every service needs: the database, link building, the mail context, the outbox options and
 * the purpose keys. Made once per process (app.ts, the worker), passed down; it holds no state.
 */
export interface ServiceContext {
  config: Config;
  db: Db;
  keys: ServiceKeys;
  links: Links;
  /** Read afresh on each use: it carries the branding of the moment (issue 13.11). */
  readonly mail: MailContext;
  outbox: OutboxOptions;
  /** The organisation's logo, colour and sender name (issue 13.11), from memory. */
  brand: BrandingCache;
}

/** A process that also sends (the worker) passes its branding cache, so building and sending share one. */
export function makeServiceContext(config: Config, db: Db, brand = new BrandingCache(db)): ServiceContext {
  const mail = { orgName: config.orgName, baseUrl: config.baseUrl, privacyContact: config.privacyContact, timeZone: config.orgTimeZone };
  return {
    config,
    db,
    keys: Object.freeze({ suppression: suppressionKeys(config.secretKeys) }),
    links: new Links(config.baseUrl, config.secretKeys),
    get mail(): MailContext {
      return { ...mail, brand: mailBrand(brand.current()) };
    },
    outbox: { messageIdHost: new URL(config.baseUrl).hostname, maxAttempts: config.mailMaxAttempts },
    brand,
  };
}

/** Queues a message in the caller's transaction: it is sent only if that transaction commits (C14). */
export function queueMail(trx: Knex.Transaction, svc: ServiceContext, email: BuiltEmail): Promise<string> {
  return enqueueEmail(trx, email, svc.outbox);
}
