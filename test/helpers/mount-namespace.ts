import { spawnSync } from 'node:child_process';

/**
 * Whether this machine lets an unprivileged test make its own user and mount namespace, where
 * it can mount a small or read-only tmpfs (a full disk, a read-only store) without root.
 */
export function canUnshare(): boolean {
  return spawnSync('unshare', ['-Urm', 'true']).status === 0;
}
