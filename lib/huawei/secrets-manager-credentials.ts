/**
 * Huawei AK/SK kept in an AWS Secrets Manager secret, so a Lambda deployment never carries
 * them in its environment (where the console shows them). The secret's value is JSON:
 *   {"ak": "...", "sk": "...", "security_token": "...", "expires_at": "2026-01-01T00:00:00Z"}
 * (the last two only for temporary credentials). Rotating the secret takes effect within
 * the cache's refresh interval, without a redeploy.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Clock } from '../clock.ts';
import { type Env, readString } from '../config/env-parsers.ts';
import {
  CachingCredentialProvider,
  type CredentialProvider,
  ENV_ACCESS_KEY,
  ENV_SECRET_KEY,
  ENV_SECURITY_TOKEN,
  envCredentialProvider,
  type ResolvedCredentials,
  readEnvCredentials,
} from './credentials.ts';

export const ENV_CREDENTIALS_SECRET_ID = 'HUAWEICLOUD_CREDENTIALS_SECRET_ID';

/** How long long-lived AK/SK read from a secret are reused before the secret is read again. */
const STATIC_SECRET_REUSE_MS = 15 * 60_000;

export class CredentialSecretError extends Error {
  override name = 'CredentialSecretError';
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  constructor(message: string, details: { code?: string; requestId?: string; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.requestId = details.requestId;
  }
}

/** Parses the secret's JSON. Messages name the missing field, never a value. */
export function parseCredentialSecret(text: string, secretId: string, nowMs: number): ResolvedCredentials {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new CredentialSecretError(`secret ${secretId} is not JSON; expected {"ak": ..., "sk": ...}`);
  }
  const field = (...names: string[]): string | undefined => {
    for (const name of names) {
      const v = value[name];
      if (typeof v === 'string' && v.trim() !== '') return v.trim();
    }
    return undefined;
  };
  const accessKey = field('ak', 'access', ENV_ACCESS_KEY);
  const secretKey = field('sk', 'secret', ENV_SECRET_KEY);
  if (!accessKey || !secretKey)
    throw new CredentialSecretError(`secret ${secretId} lacks "ak" or "sk"; expected {"ak": ..., "sk": ...}`);
  const expires = field('expires_at');
  const expiresAt = expires ? new Date(expires) : new Date(nowMs + STATIC_SECRET_REUSE_MS);
  if (Number.isNaN(expiresAt.getTime()))
    throw new CredentialSecretError(`secret ${secretId} has an "expires_at" that is not an ISO time`);
  return {
    accessKey,
    secretKey,
    securityToken: field('security_token', 'securitytoken', ENV_SECURITY_TOKEN),
    expiresAt,
  };
}

export function secretsManagerCredentialProvider(options: {
  client: SecretsManagerClient;
  secretId: string;
  clock: Clock;
}): CredentialProvider {
  const source: CredentialProvider = {
    async getCredentials(signal) {
      try {
        const out = await options.client.send(new GetSecretValueCommand({ SecretId: options.secretId }), {
          abortSignal: signal,
        });
        if (out.SecretString === undefined)
          throw new CredentialSecretError(`secret ${options.secretId} has no SecretString`);
        return parseCredentialSecret(out.SecretString, options.secretId, options.clock.now());
      } catch (error) {
        if (error instanceof CredentialSecretError) throw error;
        const e = error as { name?: string; $metadata?: { requestId?: string } };
        throw new CredentialSecretError(`reading Huawei credentials from secret ${options.secretId} failed`, {
          code: e.name,
          requestId: e.$metadata?.requestId,
          cause: error,
        });
      }
    },
  };
  return new CachingCredentialProvider(source, { clock: options.clock, refreshAheadMs: 60_000 });
}

/** Fails now, naming the variable, when neither a credentials secret nor AK/SK are configured. */
export function checkCredentialSource(env: Env): void {
  if (readString(env, ENV_CREDENTIALS_SECRET_ID) === undefined) readEnvCredentials(env);
}

/**
 * The one place that decides where Huawei credentials come from: a Secrets Manager secret
 * when HUAWEICLOUD_CREDENTIALS_SECRET_ID is set, otherwise the official environment variables.
 */
export async function credentialProviderFromEnv(
  env: Env,
  deps: { clock: Clock; secretsManagerClient?: SecretsManagerClient },
): Promise<CredentialProvider> {
  const secretId = readString(env, ENV_CREDENTIALS_SECRET_ID);
  if (secretId === undefined) return envCredentialProvider(env);
  const client =
    deps.secretsManagerClient ??
    new (await import('@aws-sdk/client-secrets-manager')).SecretsManagerClient({});
  return secretsManagerCredentialProvider({ client, secretId, clock: deps.clock });
}
