import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createStaffUser, NewStaffUser } from '../admin/staff.service.js';
import { AppError } from '../shared/errors.js';
import { migrateDatabase } from '../shared/migrate.js';
import { openCliDatabase } from './database.js';

/**
 * npm run staff:create -- --email E --name N --role admin|support|auditor
 * The password comes from STAFF_PASSWORD or a hidden prompt, never an argument: arguments end up
 * in shell history and in every process listing.
 */
function fail(message: string): never {
  console.error(`staff: ${message}`);
  process.exit(1);
}

if (process.argv[2] !== 'create') fail('usage: staff.ts create --email E --name N --role admin|support|auditor');
let values: Record<string, string | undefined>;
try {
  ({ values } = parseArgs({
    args: process.argv.slice(3),
    options: { email: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  }));
} catch (err) {
  fail(`${(err as Error).message.split('\n')[0]} (the password is read from STAFF_PASSWORD or a prompt, never an argument)`);
}

const password =
  process.env.STAFF_PASSWORD ?? (process.stdin.isTTY ? await promptHidden('Password (at least 12 characters): ') : undefined);
if (password === undefined) fail('set STAFF_PASSWORD or run in a terminal to be asked for the password.');
const parsed = NewStaffUser.safeParse({ ...values, password });
if (!parsed.success) {
  const issue = parsed.error.issues[0];
  fail(`${String(issue?.path[0] ?? 'input')}: ${issue?.message ?? 'invalid'}`);
}

const { db, url, logger, close } = await openCliDatabase(fail);
let exitCode = 0;
try {
  await migrateDatabase(db, url, logger);
  const id = await createStaffUser(db, parsed.data);
  console.log(`Created ${parsed.data.role} ${parsed.data.email} (${id}).`);
} catch (err) {
  if (!(err instanceof AppError)) throw err;
  console.error(`staff: ${err.message}`);
  exitCode = 1;
} finally {
  await close();
}
process.exit(exitCode);

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
