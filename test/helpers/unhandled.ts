/**
 * Run as a separate process by the process-handler test: installs the handlers the entry points
 * install, leaves one promise rejected with nobody to handle it, and says whether it lived on.
 */
import { installProcessHandlers } from '../../src/boot.js';
import { DatabaseWatch } from '../../src/shared/db-watch.js';
import { createLogger } from '../../src/shared/logger.js';

const kind = process.argv[2];
const logger = createLogger('info');
const watch = new DatabaseWatch(logger);
installProcessHandlers(logger, watch);
const err =
  kind === 'database'
    ? Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })
    : new Error('a bug nobody caught');
void Promise.reject(err);
setTimeout(() => {
  process.stdout.write('still running\n');
  watch.close();
}, 300);
