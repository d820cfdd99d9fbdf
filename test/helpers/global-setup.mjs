// @ts-check
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { tsImport } from 'tsx/esm/api';
import { buildForProcesses } from './build.mjs';

/**
 * One PostgreSQL for the run: the server named by DATABASE_URL if set, else an embedded one
 * started here in a throw-away folder. The schema is migrated once into a template database
 * (by the real `db:migrate` command), and every test file clones it (test/helpers/db.ts).
 * One headless Chromium for the run, started meanwhile: each browser test opens a context of
 * its own in it (test/helpers/browser.ts), so no test pays for a browser start. The code is
 * compiled once (./build.mjs) for the processes tests start (test/helpers/processes.ts).
 */
async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export default async function globalSetup() {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const runId = randomBytes(4).toString('hex');
  let adminUrl = process.env.DATABASE_URL;
  let embedded;
  if (!adminUrl) {
    // The embedded-postgres wrapper is TypeScript; jest loads this file as plain JS.
    const { startEmbeddedPostgres } = await tsImport('../../src/embedded/postgres.ts', import.meta.url);
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(root, '.data', `test-pg-${runId}`),
      port: await freePort(),
      persistent: false,
    });
    adminUrl = embedded.adminUrl;
  }
  const template = `assent_tpl_${runId}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${template}`);
  await admin.end();

  const templateUrl = withDatabase(adminUrl, template);
  const build = path.join(root, '.data', `test-build-${runId}`);
  await buildForProcesses(root, build);
  const migrated = new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [path.join(build, 'src/cli/db.js'), 'migrate'],
      { cwd: root, env: { ...process.env, DATABASE_URL: templateUrl, NODE_ENV: 'test', LOG_LEVEL: 'warn' } },
      (err) => (err ? reject(err) : resolve(undefined)),
    );
    child.stderr?.pipe(process.stderr);
  });
  const { CHROMIUM_ARGS } = await tsImport('./browser-args.ts', import.meta.url);
  // Without Chromium the tests that need no browser still run; the browser tests then fail on
  // their own launch, naming what is missing.
  const [browser] = await Promise.all([
    chromium
      .launchServer({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true })
      .catch((err) => {
        process.stderr.write(`No shared Chromium for the browser tests: ${err.message.split('\n')[0]}\n`);
        return undefined;
      }),
    migrated,
  ]);
  if (browser) process.env.ASSENT_TEST_BROWSER = browser.wsEndpoint();

  process.env.ASSENT_TEST_ADMIN_URL = adminUrl;
  process.env.ASSENT_TEST_TEMPLATE = template;
  process.env.ASSENT_TEST_BUILD = build;
  globalThis.__assentTest = { embedded, adminUrl, template, browser, build };
}
