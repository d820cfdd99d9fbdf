import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { findActiveStaffUserByEmail } from '../auth/staff.repository.js';
import { createStaffUser, resetStaffTwoFactor } from '../auth/staff.service.js';
import { NewStaffUser } from '../auth/staff.schemas.js';
import { AppError, NotFoundError } from '../shared/errors.js';
import { makeServiceContext } from '../context.js';
import { migrateDatabase } from '../shared/migrate.js';
import { openCliDatabase } from './database.js';

/**
 * npm run staff:create -- --email E --name N --role admin|support|auditor|editor
 * The password comes from STAFF_PASSWORD or a hidden prompt, never an argument: arguments end up
 * in shell history and in every process listing.
 *
 * npm run staff:reset-2fa -- --email E
 * Resets a staff user's two-factor sign-in from the server's shell, for the one case the admin
 * screen cannot help: the only admin lost their device and their recovery codes. Audited as done
 * from the command line; the owner is told by e-mail.
 */
function fail(message: string): never {
  console.error(`staff: ${message}`);
  process.exit(1);
}

const USAGE = 'usage: staff.ts create --email E --name N --role admin|support|auditor|editor | staff.ts reset-2fa --email E';
const command = process.argv[2];
if (command !== 'create' && command !== 'reset-2fa') fail(USAGE);
let values: Record<string, string | undefined>;
try {
  const parsed = parseArgs({
    args: process.argv.slice(3),
    options: { email: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  values = parsed.values;
  if (command === 'reset-2fa' && (values.name !== undefined || values.role !== undefined)) fail(USAGE);
} catch (err) {
  fail(`${(err as Error).message.split('\n')[0]} (the password is read from STAFF_PASSWORD or a prompt, never an argument)`);
}

const input = command === 'create' ? await createInput() : undefined;
const { config, db, url, logger, close } = await openCliDatabase(fail);
let exitCode = 0;
try {
  await migrateDatabase(db, url, logger);
  if (input) {
    const id = await createStaffUser(db, input);
    console.log(`Created ${input.role} ${input.email} (${id}).`);
  } else {
    const staff = await findActiveStaffUserByEmail(db, String(values.email ?? ''));
    if (!staff) throw new NotFoundError('There is no active staff user with that e-mail address.');
    const svc = makeServiceContext(config, db);
    await svc.brand.refresh();
    await resetStaffTwoFactor(svc, null, staff.id);
    console.log(`Two-factor sign-in of ${staff.email} was reset; they set it up again at their next sign-in.`);
  }
} catch (err) {
  if (!(err instanceof AppError)) throw err;
  console.error(`staff: ${err.message}`);
  exitCode = 1;
} finally {
  await close();
}
process.exit(exitCode);

async function createInput() {
  const password =
    process.env.STAFF_PASSWORD ?? (process.stdin.isTTY ? await promptHidden('Password (at least 12 characters): ') : undefined);
  if (password === undefined) fail('set STAFF_PASSWORD or run in a terminal to be asked for the password.');
  const parsed = NewStaffUser.safeParse({ ...values, password });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail(`${String(issue?.path[0] ?? 'input')}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/**
 * Reads a line without echoing it: readline writes nothing while the answer is typed. The
 * interface (which puts the terminal in raw mode) exists before the question is shown, so even an
 * answer typed or pasted at once is never echoed by the terminal itself.
 */
function promptHidden(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  process.stdout.write(question);
  return new Promise((resolve) =>
    rl.question('', (answer) => {
      rl.close();
      process.stdout.write('\n');
      resolve(answer);
    }),
  );
}
