/**
 * The "posted" notification's signature: HMAC-SHA256 with the per-deployment key over
 * `{server_id}.{project_id}.{timestamp}`, lower-case hex. The guest snippet
 * (guest/posted-notify.ps1) and the emulated guest build exactly this message; binding the
 * project id as well as the server id and time means a captured notification cannot be
 * re-pointed at another project. The timestamp is whole Unix seconds, as text.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function postedSignatureMessage(serverId: string, projectId: string, timestamp: number): string {
  return `${serverId}.${projectId}.${timestamp}`;
}

export function signPosted(key: Buffer, serverId: string, projectId: string, timestamp: number): string {
  return createHmac('sha256', key)
    .update(postedSignatureMessage(serverId, projectId, timestamp), 'utf8')
    .digest('hex');
}

/** Constant-time check; a malformed signature is simply not valid. */
export function verifyPosted(
  key: Buffer,
  serverId: string,
  projectId: string,
  timestamp: number,
  signature: string,
): boolean {
  if (!/^[0-9a-f]{64}$/.test(signature)) return false;
  const expected = Buffer.from(signPosted(key, serverId, projectId, timestamp), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}
