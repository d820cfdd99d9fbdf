import { readdir } from 'node:fs/promises';
import type { TestContext } from './app.js';
import { waitFor } from './jobs.js';
import { csrfFrom } from './session.js';
import type { Agent } from './staff.js';

/** Uploads a file made by the test to /admin/imports as a browser form would. */
export async function uploadCsv(admin: Agent, name: string, content: string | Buffer, status: number) {
  const _csrf = await csrfFrom(admin, '/admin/imports');
  const req = admin.post('/admin/imports').field('_csrf', _csrf);
  return req.attach('file', Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'), name).expect(status);
}

/** The id of the import a response redirected to. */
export function importIdOf(location: string | undefined): number {
  const id = /^\/admin\/imports\/(\d+)$/.exec(location ?? '')?.[1];
  if (!id) throw new Error(`not an import page: ${location}`);
  return Number(id);
}

/** Posts a staff form with the CSRF token of the page it is on, expecting a status. */
export async function postForm(admin: Agent, path: string, formPath: string, fields: Record<string, string | string[]>, status: number) {
  const _csrf = await csrfFrom(admin, formPath);
  return admin
    .post(path)
    .type('form')
    .send({ _csrf, ...fields })
    .expect(status);
}

export interface ImportState {
  status: string;
  counts: Record<string, number>;
  members_created: number;
  invitations_created: number;
}

export async function importState(ctx: TestContext, id: number): Promise<ImportState> {
  return (await ctx.db('imports').where({ id }).first('status', 'counts', 'members_created', 'invitations_created')) as ImportState;
}

export async function waitForStatus(ctx: TestContext, id: number, status: string, timeoutMs = 30000): Promise<ImportState> {
  return waitFor(
    async () => {
      const s = await importState(ctx, id);
      return s.status === status ? s : undefined;
    },
    `import ${id} to be ${status}`,
    timeoutMs,
  );
}

export async function filesIn(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}
