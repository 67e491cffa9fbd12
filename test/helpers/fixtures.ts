import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const projectRoot = root;

/** A file under test/fixtures (committed, not secret; see test/fixtures/README.md). */
export function fixturePath(relative: string): string {
  return join(root, 'test/fixtures', relative);
}
