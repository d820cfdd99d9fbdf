import type { Knex } from 'knex';

/** The one knex instance (made in db.ts), and what a repository takes: it or a transaction of it. */
export type Db = Knex;
export type DbOrTx = Knex | Knex.Transaction;
