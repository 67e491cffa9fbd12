/** The posted notifications' HMAC key from Secrets Manager, when ESCROW_POSTED_HMAC_KEY_SECRET_ID names one. */
import type { SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { ConfigError, type Env, readString } from '../../config/env-parsers.ts';
import { ENV_POSTED_HMAC_KEY_SECRET_ID, readPostedMode } from '../../config/posted-mode.ts';

export async function readPostedKeySecret(
  env: Env,
  clientConfig: SecretsManagerClientConfig = {},
): Promise<string | undefined> {
  const secretId = readString(env, ENV_POSTED_HMAC_KEY_SECRET_ID);
  if (secretId === undefined || readPostedMode(env) !== 'hmac') return undefined;
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient(clientConfig);
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (out.SecretString === undefined)
      throw new ConfigError(
        ENV_POSTED_HMAC_KEY_SECRET_ID,
        `names secret ${secretId}, which has no SecretString`,
      );
    return out.SecretString;
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    throw new ConfigError(
      ENV_POSTED_HMAC_KEY_SECRET_ID,
      `names secret ${secretId}, which could not be read`,
      {
        cause,
      },
    );
  } finally {
    client.destroy();
  }
}
