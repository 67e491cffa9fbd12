/**
 * Whether guests' "posted" notifications are on, and how they are checked. The intake's
 * /posted route and the worker (which then consults the escrow before a finding GET) read the
 * same variables; the rest of the settings are the intake's (lib/intake/posted/posted-config.ts).
 */
import { type Env, readEnum, readString } from './env-parsers.ts';

export type PostedMode = 'off' | 'hmac' | 'unsigned';

export const ENV_POSTED_MODE = 'ESCROW_POSTED_MODE';
export const ENV_POSTED_HMAC_KEY = 'ESCROW_POSTED_HMAC_KEY';
/** A Secrets Manager secret whose SecretString is the key; read once per warm instance. */
export const ENV_POSTED_HMAC_KEY_SECRET_ID = 'ESCROW_POSTED_HMAC_KEY_SECRET_ID';

/** Off unless a key (or its secret) is configured; unsigned only when named. */
export function readPostedMode(env: Env): PostedMode {
  const keyed = readString(env, ENV_POSTED_HMAC_KEY) ?? readString(env, ENV_POSTED_HMAC_KEY_SECRET_ID);
  return readEnum<PostedMode>(env, ENV_POSTED_MODE, ['off', 'hmac', 'unsigned'], keyed ? 'hmac' : 'off');
}
