import path from 'node:path';
import type { Config } from '../config.js';

/** Where uploaded import files wait, for the seconds it takes to stage them (DATA_DIR/imports). */
export function importUploadDir(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'imports');
}
