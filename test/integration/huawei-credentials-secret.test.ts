import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SecretsManagerFake,
  startSecretsManagerFake,
} from '../../harness/fakes/secrets-manager-fake.ts';
import type { Clock } from '../../lib/clock.ts';
import {
  CredentialSecretError,
  credentialProviderFromEnv,
  secretsManagerCredentialProvider,
} from '../../lib/huawei/secrets-manager-credentials.ts';
import { redactText } from '../../lib/observability/redact.ts';

let sm: SecretsManagerFake;
let client: SecretsManagerClient;
let now = Date.parse('2026-01-01T00:00:00Z');
const clock: Clock = { now: () => now, sleep: async () => {}, scale: 1 };

beforeAll(async () => {
  sm = await startSecretsManagerFake();
  client = new SecretsManagerClient({ endpoint: sm.endpoint, ...sm.clientConfig });
});
afterAll(async () => {
  client.destroy();
  await sm.close();
});

const reads = (id: string): number =>
  sm.calls().filter((c) => c.operation === 'GetSecretValue' && c.secretId === id).length;

describe('Huawei credentials from a Secrets Manager secret (real SDK client, loopback fake)', () => {
  it('reads AK/SK once, reuses them, and re-reads after the reuse interval', async () => {
    await client.send(
      new CreateSecretCommand({
        Name: 'huawei/ak-sk',
        SecretString: JSON.stringify({ ak: 'AKSECRET0001', sk: 'SKSECRETVALUE0001' }),
      }),
    );
    const provider = secretsManagerCredentialProvider({ client, secretId: 'huawei/ak-sk', clock });
    const first = await provider.getCredentials();
    expect(first).toMatchObject({
      accessKey: 'AKSECRET0001',
      secretKey: 'SKSECRETVALUE0001',
      securityToken: undefined,
    });
    await provider.getCredentials();
    expect(reads('huawei/ak-sk')).toBe(1);

    await client.send(
      new PutSecretValueCommand({
        SecretId: 'huawei/ak-sk',
        SecretString: JSON.stringify({ ak: 'AKSECRET0002', sk: 'SKSECRETVALUE0002' }),
      }),
    );
    now += 20 * 60_000;
    expect((await provider.getCredentials()).accessKey).toBe('AKSECRET0002');
    expect(reads('huawei/ak-sk')).toBe(2);
    // Everything handed out is registered for redaction.
    expect(redactText('sk=SKSECRETVALUE0002')).not.toContain('SKSECRETVALUE0002');
  });

  it('passes temporary credentials and their expiry through', async () => {
    const expires = new Date(now + 3_600_000).toISOString();
    await client.send(
      new CreateSecretCommand({
        Name: 'huawei/temp',
        SecretString: JSON.stringify({
          ak: 'AKTEMP000001',
          sk: 'SKTEMPVALUE0001',
          security_token: 'TOKENVALUE0001',
          expires_at: expires,
        }),
      }),
    );
    const provider = await credentialProviderFromEnv(
      { HUAWEICLOUD_CREDENTIALS_SECRET_ID: 'huawei/temp' },
      { clock, secretsManagerClient: client },
    );
    const creds = await provider.getCredentials();
    expect(creds.securityToken).toBe('TOKENVALUE0001');
    expect(creds.expiresAt?.toISOString()).toBe(expires);
  });

  it('names the missing field and never the value', async () => {
    await client.send(
      new CreateSecretCommand({ Name: 'huawei/bad', SecretString: JSON.stringify({ ak: 'AKONLY0000001' }) }),
    );
    const provider = secretsManagerCredentialProvider({ client, secretId: 'huawei/bad', clock });
    const error = await provider.getCredentials().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialSecretError);
    expect((error as Error).message).toMatch(/lacks "ak" or "sk"/);
    expect((error as Error).message).not.toContain('AKONLY0000001');
  });

  it('carries the AWS error code and request id of a failed read', async () => {
    const provider = secretsManagerCredentialProvider({ client, secretId: 'huawei/missing', clock });
    const error = (await provider.getCredentials().catch((e: unknown) => e)) as CredentialSecretError;
    expect(error.code).toBe('ResourceNotFoundException');
    expect(error.requestId).toBeTruthy();
  });

  it('falls back to the official environment variables when no secret is configured', async () => {
    const provider = await credentialProviderFromEnv(
      { HUAWEICLOUD_SDK_AK: 'AKFROMENV0001', HUAWEICLOUD_SDK_SK: 'SKFROMENV0001' },
      { clock },
    );
    expect((await provider.getCredentials()).accessKey).toBe('AKFROMENV0001');
  });
});
