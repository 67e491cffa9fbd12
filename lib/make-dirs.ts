/**
 * `mkdir -p` that reports the real reason. Node's recursive mkdir answers ENOENT where the
 * cause is EROFS (a read-only filesystem), and loops forever on paths such as `/proc/x` where
 * mkdir keeps answering ENOENT under an existing parent. This walks up to the first existing
 * ancestor once, then creates each missing level with a plain mkdir, so the error is the
 * kernel's own and the work is bounded by the path's depth.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Creates `dir` and any missing parents (new ones get `mode`); returns the first directory created. */
export async function makeDirs(dir: string, mode = 0o700): Promise<string | undefined> {
  const missing: string[] = [];
  let current = resolve(dir);
  for (;;) {
    try {
      if (!(await stat(current)).isDirectory())
        throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${current}'`), {
          code: 'ENOTDIR',
          path: current,
        });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    missing.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const level of missing) {
    try {
      await mkdir(level, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return missing[0];
}
