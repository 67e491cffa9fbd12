import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The project's ../shared folder (CI lays a copy beside the clone). */
export function sharedPath(relative: string): string {
  const candidates = [process.env['BMS_ESCROW_SHARED_DIR'], join(root, '../shared')].filter(
    Boolean,
  ) as string[];
  for (const dir of candidates) {
    const path = join(dir, relative);
    if (existsSync(path)) return path;
  }
  throw new Error(`shared fixture ${relative} not found; set BMS_ESCROW_SHARED_DIR to the shared/ folder`);
}

export const projectRoot = root;
