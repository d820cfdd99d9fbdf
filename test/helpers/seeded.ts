import type { BrandingCache } from '../../src/branding/branding.service.js';
import { seedDatabase } from '../../src/shared/migrate.js';
import { startTestContext, type TestContext } from './app.js';

export interface Seeded {
  ctx: TestContext;
  /** Demo topic ids by slug. */
  topic: Record<string, number>;
  /** Demo member ids by e-mail address. */
  member: Record<string, string>;
}

/** A test context holding the demo organisation (seeds/), with the worker running unless told not to. */
export async function startSeededContext(opts: { env?: Record<string, string>; worker?: boolean } = {}): Promise<Seeded> {
  const ctx = await startTestContext(opts.env);
  await seedDatabase(ctx.db);
  // The app read its branding at start, before the demo's was seeded.
  await (ctx.app.locals.brand as BrandingCache).refresh();
  if (opts.worker !== false) await ctx.startWorker();
  const topics: { id: number; slug: string }[] = await ctx.db('topics').select('id', 'slug');
  const members: { id: string; email: string }[] = await ctx.db('members').select('id', 'email');
  return {
    ctx,
    topic: Object.fromEntries(topics.map((t) => [t.slug, t.id])),
    member: Object.fromEntries(members.map((m) => [m.email, m.id])),
  };
}
