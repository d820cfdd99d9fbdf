import { readdirSync } from 'node:fs';
import connectPgSimple from 'connect-pg-simple';
import { csrfSync } from 'csrf-sync';
import express, { type Express, type Request, type RequestHandler } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import { adminRouter } from './admin/admin.routes.js';
import { createPassport } from './auth/passport.js';
import { findActiveMember } from './identity/members.repository.js';
import { idleTimeout, SESSION_COOKIE } from './auth/sessions.js';
import { makeServiceContext, type ServiceContext } from './context.js';
import type pg from 'pg';
import type { Config } from './config.js';
import type { Db } from './db.js';
import { healthRouter, homeRouter, type WorkerHealth } from './home/home.routes.js';
import { devMailRouter } from './mail/dev-mail.routes.js';
import { policiesRouter, policyBanner } from './policies/policies.routes.js';
import { errorHandler, notFound } from './shared/http/error-handler.js';
import { formatDateTime, formatDay, formatDuration, formatStamp } from './shared/time.js';
import { diskFileUpload, singleFileUpload } from './shared/http/uploads.js';
import { IMPORT_MAX_BYTES } from './imports/imports.service.js';
import { importUploadDir } from './imports/upload-dir.js';
import { invitationsRouter } from './imports/invitations.routes.js';
import { LOGO_MAX_BYTES } from './branding/branding.service.js';
import { signInRouter } from './members/signin.routes.js';
import { preferencesRouter } from './consent/preferences.routes.js';
import { unsubscribeRouter } from './consent/unsubscribe.routes.js';
import { accountRouter } from './members/account.routes.js';
import { dataRouter } from './members/data.routes.js';
import { detailsRouter } from './members/details.routes.js';
import { joinRouter } from './members/join.routes.js';
import { removalRouter } from './removal/removal.routes.js';
import { contactRouter } from './inquiries/contact.routes.js';
import { bulletinsRouter } from './bulletins/bulletins.routes.js';
import { brandingRouter } from './branding/branding.routes.js';
import { apiRouter } from './api/api.routes.js';
import { inboundRouter } from './integrations/inbound.routes.js';
import { linkConfirmation } from './shared/http/link-confirm.js';
import { requestLogger } from './shared/http/request-log.js';
import { purposeKeys } from './shared/keys.js';
import type { Logger } from './shared/logger.js';
import { publicDir } from './shared/paths.js';
import { useViews } from './shared/http/views.js';

export interface AppDeps {
  config: Config;
  db: Db;
  logger: Logger;
  /** A small pg pool for the session store (connect-pg-simple speaks pg, not knex). */
  sessionPool: pg.Pool;
  /** Where the development mail catcher keeps mail; /dev/mail is mounted only when set. */
  devMailDir?: string;
  /** The state of this process's job runner, for /healthz; absent when the process runs none. */
  workerHealth?: () => WorkerHealth;
}

/** Buttons on pages opened from an e-mail link that sign someone in or act for them: see link-confirm.ts. */
const LINK_ACTIONS = /^\/(join\/confirm|join\/invited|signin|l\/[a-z-]+)\/[^/]+\/?$/i;
/** Forms that act for nobody signed in, or whose signed link is the whole credential and must work without cookies (C9). */
const OPEN_FORMS = /^\/(join|manage|contact|unsubscribe\/[^/]+|p\/[^/]+(\/signin-link)?|join\/confirm\/[^/]+\/preferences-link)\/?$/i;

/**
 * Builds the Express app from its dependencies and nothing else, so tests build the same app
 * against their own database. The app holds no state: any number of nodes can serve it.
 */
export function buildApp(deps: AppDeps): Express {
  const { config, db } = deps;
  const app = express();
  app.disable('x-powered-by');
  // Pages are made per visitor and not cached (a 304 would save little); static files keep theirs.
  app.disable('etag');
  app.set('trust proxy', config.trustProxy);
  // Compiled templates are kept everywhere but in development, where an edited view shows at once.
  useViews(app, { cache: config.env !== 'development' });

  const svc: ServiceContext = makeServiceContext(config, db);
  // Read once now; app.locals.brand lets whoever seeds or restores the database refresh it at once.
  void svc.brand.refresh();
  app.locals.brand = svc.brand;
  app.use(requestLogger(deps.logger));
  app.use((req, res, next) => {
    res.locals.orgName = config.orgName;
    res.locals.brand = svc.brand.current();
    res.locals.when = (at: Date) => formatDateTime(at, config.orgTimeZone);
    res.locals.day = (at: Date) => formatDay(at, config.orgTimeZone);
    res.locals.stamp = (at: Date | string | null | undefined) => (at ? formatStamp(new Date(at), config.orgTimeZone) : '');
    res.locals.duration = formatDuration;
    res.locals.privacyContact = config.privacyContact;
    res.locals.currentPath = req.path;
    res.locals.showDevMail = deps.devMailDir !== undefined;
    res.locals.errors = {};
    res.locals.input = {};
    next();
  });
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          'default-src': ["'self'"],
          'script-src': ["'self'"],
          'style-src': ["'self'"],
          'img-src': ["'self'", 'data:'],
          'font-src': ["'self'"],
          'form-action': ["'self'"],
          'frame-src': ["'self'"],
          'frame-ancestors': ["'none'"],
          'base-uri': ["'self'"],
          'object-src': ["'none'"],
          ...(config.isProduction ? { 'upgrade-insecure-requests': [] } : {}),
        },
      },
      strictTransportSecurity: config.isProduction ? { maxAge: 31536000, includeSubDomains: true } : false,
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );
  app.use(healthRouter(db, deps.workerHealth));
  if (config.isProduction) app.use(requireHttps(config.baseUrl));
  const formBodies = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 200 });
  // The link pages of every e-mail asked without a session cookie (C9; one-click included): the
  // signed token is their whole credential, so nothing mounted below — static files, the API,
  // sessions, CSRF, sign-in, the other pages' routers — has anything to do for them. They are
  // served from here, as they would be below; what they do not match goes on down.
  const banner = policyBanner(db);
  const [preferences, unsubscribe] = [preferencesRouter(svc), unsubscribeRouter(svc)];
  const linkPages = express.Router();
  linkPages.use(formBodies, signedInLocals, banner, preferences, unsubscribe);
  app.use((req, res, next) => (isCookielessLink(req) ? linkPages(req, res, next) : next()));
  // Static files only for their own paths: a page's request does not look on the disk first.
  const serveStatic = express.static(publicDir, { maxAge: config.isProduction ? '1d' : 0, index: false });
  const publicEntries = new Set(readdirSync(publicDir));
  app.use((req, res, next) => (publicEntries.has(req.path.split('/')[1] ?? '') ? serveStatic(req, res, next) : next()));
  app.use(brandingRouter(svc.brand));
  // The REST API authenticates each call with its key: mounted before sessions and CSRF, it sets no cookie.
  app.use(apiRouter(svc));
  // Bounce and complaint reports from the sending service: signed or authenticated, no session (issue 12.4).
  app.use(inboundRouter(svc, deps.logger));
  app.use(formBodies);

  // Sessions hold only an opaque id in the cookie (C9); nothing is stored until a form or a
  // sign-in needs it, so visitors who only read pages get no cookie at all.
  const PgStore = connectPgSimple(session);
  app.use(
    unlessCookielessLink(
      session({
        name: SESSION_COOKIE,
        // Its own key (C11): sessions signed with a master key, from before key separation, end once.
        secret: purposeKeys(config.secretKeys, 'session'),
        // No write on every request to push the row's expiry on: each save sets the expiry anew, and a
        // signed-in session is saved by its first request after each minute in use (the idle clock,
        // idleTimeout). A session nobody signed in to (a form's CSRF secret) keeps its first 8 hours.
        store: new PgStore({ pool: deps.sessionPool, tableName: 'sessions', pruneSessionInterval: false, disableTouch: true }),
        resave: false,
        saveUninitialized: false,
        cookie: { httpOnly: true, sameSite: 'lax', secure: config.isProduction, maxAge: 1000 * 60 * 60 * 8 },
      }),
    ),
  );

  // The branding form uploads a logo (multipart): parsed before the CSRF check reads its token.
  app.use('/admin/branding', singleFileUpload('logo', LOGO_MAX_BYTES));
  // An import's CSV goes to disk, never whole into memory, and only for a signed-in session.
  app.use('/admin/imports', diskFileUpload('file', IMPORT_MAX_BYTES, importUploadDir(config)));
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => (req.body as Record<string, unknown> | undefined)?._csrf as string | undefined,
  });
  // Pages reached from e-mail links carry their own credential (a signed or single-use token) and
  // must work without cookies (C9); the public join and link-request forms act for nobody signed
  // in, and are rate-limited instead. Everything else posted needs the session's CSRF token.
  app.use((req, res, next) =>
    LINK_ACTIONS.test(req.path) || OPEN_FORMS.test(req.path) ? next() : csrfSynchronisedProtection(req, res, next),
  );
  // The link buttons that sign in or act must come from a page we showed this browser (login CSRF).
  app.use(
    linkConfirmation({
      keys: purposeKeys(config.secretKeys, 'link-confirm'),
      baseUrl: config.baseUrl,
      secure: config.isProduction,
      paths: LINK_ACTIONS,
    }),
  );
  app.use((req, res, next) => {
    // Calling this in a form creates the session that holds the token; pages without forms set no cookie.
    res.locals.csrfToken = () => generateToken(req);
    next();
  });

  const passport = createPassport(db, (id) => findActiveMember(db, id));
  app.use(unlessCookielessLink(passport.initialize()));
  app.use(unlessCookielessLink(passport.session()));
  app.use(unlessCookielessLink(idleTimeout(config)));
  app.use(signedInLocals);

  app.use(banner);

  app.use(homeRouter());
  app.use(policiesRouter(db));
  // The member side: one router per feature, in mounting order.
  for (const router of [
    signInRouter(svc),
    accountRouter(svc),
    dataRouter(svc),
    detailsRouter(svc),
    joinRouter(svc),
    preferences,
    unsubscribe,
    removalRouter(svc),
    contactRouter(svc),
    bulletinsRouter(svc),
    invitationsRouter(svc),
  ])
    app.use(router);
  app.use(adminRouter(svc));
  if (deps.devMailDir && !config.isProduction) app.use('/dev/mail', devMailRouter(deps.devMailDir));

  app.use(notFound);
  app.use(errorHandler);
  return app;
}

/** The pages of the links in every e-mail that need no session at all (C9): the preference page and unsubscribe, one-click included. */
const COOKIELESS_LINKS = /^\/(p|unsubscribe)\/[^/]+\/?$/i;

const isCookielessLink = (req: Request) => COOKIELESS_LINKS.test(req.path) && !hasSessionCookie(req.headers.cookie);

/** Who is signed in, for the header (issue 13.10): the name and address come from the database, not the cookie (C9). */
const signedInLocals: RequestHandler = (req, res, next) => {
  res.locals.signedIn = req.user?.kind === 'member';
  res.locals.signedInMember = res.locals.signedIn ? { name: req.user!.name, email: req.user!.email } : undefined;
  next();
};

/**
 * A request to a link page without a session cookie skips the session and passport: the signed
 * token is its whole credential, and there is no session to find. With the cookie (a signed-in
 * member following a link) everything runs as on any page, so what they see does not change.
 */
function unlessCookielessLink(middleware: RequestHandler): RequestHandler {
  return (req, res, next) => (isCookielessLink(req) ? next() : middleware(req, res, next));
}

function hasSessionCookie(header: string | undefined): boolean {
  return header !== undefined && header.split(';').some((c) => c.trimStart().startsWith(`${SESSION_COOKIE}=`));
}

/** C11: in production plain HTTP is refused; browsers are sent to the https origin. */
function requireHttps(baseUrl: string): RequestHandler {
  return (req, res, next) => {
    if (req.secure) return next();
    if (req.method === 'GET' || req.method === 'HEAD') return res.redirect(308, `${baseUrl}${sameSiteTarget(req.originalUrl)}`);
    res.status(403).type('text').send('HTTPS is required.');
  };
}

/**
 * The path and query of a request target, and nothing else: pasted after BASE_URL, a raw target
 * such as "@evil.example/x", "//evil.example" or an absolute "http://evil.example/" would move the
 * redirect to another host. One leading slash, so no later relative redirect reads it as a host.
 */
function sameSiteTarget(target: string): string {
  try {
    const url = new URL(target, 'http://placeholder.invalid');
    return `${url.pathname.replace(/^\/+/, '/')}${url.search}`;
  } catch {
    return '/';
  }
}
