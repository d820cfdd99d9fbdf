import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from './browser-args.js';
import { AXE_PATH, axeSource, serve, servedOrigins } from './serve.js';
import type { TestContext } from './app.js';

export { CHROMIUM_ARGS, serve };

export interface Browsing {
  context: BrowserContext;
  /** Console errors and uncaught page errors seen so far, on any page. */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Headless Debian Chromium through playwright-core: a fresh context (its own cookies and storage)
 * in the run's one browser (started by the global setup). With cookies: false, a browser of its
 * own whose profile blocks all cookies, as a visitor who refused them would (C9).
 */
export async function launchBrowser(opts: { cookies: boolean }): Promise<Browsing> {
  const shared = process.env.ASSENT_TEST_BROWSER;
  if (opts.cookies && shared) {
    const browser = await chromium.connect(shared);
    const context = await browser.newContext();
    return watched(context, async () => {
      await context.close();
      await browser.close();
    });
  }
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'assent-chromium-'));
  if (!opts.cookies) {
    mkdirSync(path.join(userDataDir, 'Default'), { recursive: true });
    writeFileSync(
      path.join(userDataDir, 'Default', 'Preferences'),
      JSON.stringify({ profile: { default_content_setting_values: { cookies: 2 } } }),
    );
  }
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
  });
  return watched(context, async () => {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  });
}

/** Collects the console errors and uncaught page errors of every page the context opens. */
function watched(context: BrowserContext, close: () => Promise<void>): Browsing {
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return { context, errors, close };
}

/**
 * Puts axe-core in the page: from the site's AXE_PATH when the page is on a site served by
 * serve() (cached by Chromium after the first load in a context), else (a site of a real
 * process) as source sent through the browser protocol.
 */
async function loadAxe(page: Page): Promise<void> {
  if (!servedOrigins.has(new URL(page.url()).origin)) return void (await page.evaluate(axeSource()));
  await page.evaluate(
    (src) =>
      new Promise<void>((resolve, reject) => {
        const script = document.createElement('script');
        script.src = src;
        script.onload = () => {
          script.remove();
          resolve();
        };
        script.onerror = () => reject(new Error(`axe-core did not load from ${src}`));
        document.head.append(script);
      }),
    AXE_PATH,
  );
}

/**
 * Runs axe-core's WCAG 2.1 A and AA rules on the page; returns the violations, summarised. With
 * `impacts`, only violations of those impacts (such as serious and critical) are returned.
 */
export async function axeViolations(page: Page, opts: { impacts?: readonly string[] } = {}): Promise<string[]> {
  await loadAxe(page);
  // Only the violations come back: the passes (every node checked, with its markup) would be
  // serialised through the browser protocol for nothing.
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            ctx: Document,
            o: object,
          ): Promise<{ violations: { id: string; help: string; impact: string | null; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({ id: v.id, help: v.help, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return violations
    .filter((v) => !opts.impacts || opts.impacts.includes(v.impact ?? ''))
    .map((v) => `${v.id}: ${v.help} (${v.targets.join(', ')})`);
}

/**
 * Checks the page at a desktop and a phone width: files axe-core's violations under
 * "label @width" and returns the widths at which the page scrolls sideways (none, for a member page).
 */
export async function checkAtWidths(page: Page, label: string, violations: Record<string, string[]>): Promise<number[]> {
  const overflowing: number[] = [];
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: 800 });
    violations[`${label} @${width}`] = await axeViolations(page);
    if (await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth)) overflowing.push(width);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  return overflowing;
}

/**
 * Signs the member in through a sign-in link and waits until the account page has loaded, so the
 * next navigation cannot cancel the sign-in form's POST (and with it the session cookie).
 */
export async function signInInBrowser(page: Page, siteUrl: string, token: string): Promise<void> {
  await page.goto(`${siteUrl}/signin/${token}`);
  await Promise.all([page.waitForURL(`${siteUrl}/account`), page.getByRole('button', { name: 'Sign in' }).click()]);
}

export interface BrowserVisit {
  page: Page;
  url: string;
  browser: Browsing;
  /** Runs axe-core on the page now and files its violations under the label. */
  check(label: string): Promise<void>;
}

/**
 * Serves the app, opens Chromium (cookies on) and runs the walk; closes both whatever happens.
 * Afterwards it asserts the walk left no console errors and that every page checked passed axe-core.
 */
export async function walkInBrowser(
  app: Express,
  walk: (v: BrowserVisit) => Promise<void>,
  opts: { expectedErrors?: RegExp } = {},
): Promise<void> {
  const site = await serve(app);
  const browser = await launchBrowser({ cookies: true });
  const violations: Record<string, string[]> = {};
  try {
    const page = await browser.context.newPage();
    await walk({ page, url: site.url, browser, check: async (label) => void (violations[label] = await axeViolations(page)) });
    const errors = browser.errors.filter((e) => !opts.expectedErrors?.test(e));
    if (errors.length > 0) throw new Error(`console errors: ${errors.join('\n')}`);
  } finally {
    await browser.close();
    await site.close();
  }
  const failing = Object.entries(violations).filter(([, v]) => v.length > 0);
  if (failing.length > 0) throw new Error(`axe-core violations: ${JSON.stringify(Object.fromEntries(failing), null, 2)}`);
}

export interface BrowsedSite {
  url: string;
  browser: Browsing;
  close(): Promise<void>;
}

/** Serves the context's app on loopback and opens headless Chromium on it. */
export async function openSite(ctx: TestContext, opts: { cookies: boolean }): Promise<BrowsedSite> {
  const site = await serve(ctx.app);
  const browser = await launchBrowser(opts);
  return {
    url: site.url,
    browser,
    async close() {
      await browser.close();
      await site.close();
    },
  };
}
