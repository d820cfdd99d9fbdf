import { ConfigError, loadConfig, type Config } from '../config.js';
import { createDb, type Db } from '../db.js';
import { startDevelopmentDatabase } from '../deps.js';
import { createLogger, type Logger } from '../shared/logger.js';

export interface CliDatabase {
  config: Config;
  db: Db;
  url: string;
  logger: Logger;
  close(): Promise<void>;
}

/**
 * The database a command-line tool works on: DATABASE_URL, or the embedded development database
 * (started for the command and stopped after it). A bad configuration ends the command with its reasons.
 */
export async function openCliDatabase(fail: (message: string) => never): Promise<CliDatabase> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  let url = config.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!url) {
    const embedded = await startDevelopmentDatabase(config, logger);
    url = embedded.url;
    stopEmbedded = embedded.stop;
  }
  const db = createDb(url, logger, 2);
  return {
    config,
    db,
    url,
    logger,
    async close() {
      await db.destroy();
      await stopEmbedded?.();
    },
  };
}
