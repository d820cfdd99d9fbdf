import { openCliDatabase } from './database.js';
import { migrateDatabase, rollbackDatabase, seedDatabase } from '../shared/migrate.js';

/** npm run db:migrate | db:rollback | db:seed — against DATABASE_URL, or the embedded database. */
const command = process.argv[2];
if (!['migrate', 'rollback', 'seed'].includes(command ?? '')) {
  console.error('usage: db.ts migrate|rollback|seed');
  process.exit(2);
}
const { db, url, logger, close } = await openCliDatabase((message) => {
  console.error(message);
  process.exit(1);
});
try {
  if (command === 'migrate') {
    const applied = await migrateDatabase(db, url, logger);
    console.log(applied.length ? `Applied ${applied.length} migration(s):\n  ${applied.join('\n  ')}` : 'Already up to date.');
  } else if (command === 'rollback') {
    const undone = await rollbackDatabase(db);
    console.log(undone.length ? `Rolled back:\n  ${undone.join('\n  ')}` : 'Nothing to roll back.');
  } else {
    await seedDatabase(db);
    console.log('Seeded the demo data (skipped if a policy already exists).');
  }
} finally {
  await close();
}
