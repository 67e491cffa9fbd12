/**
 * The "posted" notification's signature: HMAC-SHA256 with the per-deployment key over
 * `{server_id}.{project_id}.{timestamp}`, lower-case hex, with `.settled` appended when the
 * notification says Cloudbase-Init's password plugin has finished (posted-intake.ts). The guest
 * snippet (guest/posted-notify.ps1) and the emulated guest build exactly this message; binding
 * the project id as well as the server id and time means a captured notification cannot be
 * re-pointed at another project, and binding "settled" means it cannot be added by anyone
 * without the key. The timestamp is whole Unix seconds, as text.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function postedSignatureMessage(
  serverId: string,
  projectId: string,
  timestamp: number,
  settled = false,
): string {
  return `${serverId}.${projectId}.${timestamp}${settled ? '.settled' : ''}`;
}

export function signPosted(
  key: Buffer,
  serverId: string,
  projectId: string,
  timestamp: number,
  settled = false,
): string {
  return createHmac('sha256', key)
    .update(postedSignatureMessage(serverId, projectId, timestamp, settled), 'utf8')
    .digest('hex');
}

/** Constant-time check; a malformed signature is simply not valid. */
export function verifyPosted(
  key: Buffer,
  serverId: string,
  projectId: string,
  timestamp: number,
  signature: string,
  settled = false,
): boolean {
  if (!/^[0-9a-f]{64}$/.test(signature)) return false;
  const expected = Buffer.from(signPosted(key, serverId, projectId, timestamp, settled), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}
