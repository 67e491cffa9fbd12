import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SecretsManagerFake,
  startSecretsManagerFake,
} from '../../harness/fakes/secrets-manager-fake.ts';
import { DecryptError } from '../../lib/escrow/decrypt.ts';
import { createEscrowStore, parseEscrowConfig } from '../../lib/escrow/escrow-config.ts';
import { fixturePath } from '../helpers/fixtures.ts';
import { newRef, recordFor } from '../unit/escrow/store-contract.ts';

const fixture = (name: string): string => readFileSync(fixturePath(`testkeys/${name}`), 'utf8');
const password = fixture('password.txt');
const ciphertext = fixture('password.rsa2048.cbi.b64').trim();

let sm: SecretsManagerFake;
let client: SecretsManagerClient;
const tmp = mkdtempSync(join(tmpdir(), 'escrow-config-test-'));

beforeAll(async () => {
  sm = await startSecretsManagerFake();
  client = new SecretsManagerClient({ endpoint: sm.endpoint, ...sm.clientConfig, maxAttempts: 1 });
  await client.send(
    new CreateSecretCommand({ Name: 'keys/kp-test', SecretString: fixture('test-rsa2048.pem') }),
  );
});
afterAll(async () => {
  client.destroy();
  await sm.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('createEscrowStore', () => {
  it('builds the file store by default', async () => {
    const store = await createEscrowStore(parseEscrowConfig({ ESCROW_FILE_DIR: join(tmp, 'files') }));
    expect(store.kind).toBe('file');
    const ref = newRef();
    const v = await store.put(recordFor(ref, ciphertext));
    expect((await store.read(ref, v.versionId))?.plaintext).toBeUndefined();
  });

  it('builds the Secrets Manager store in decrypt mode with the key held in Secrets Manager', async () => {
    const config = parseEscrowConfig({
      ESCROW_STORE: 'secrets-manager',
      ESCROW_PRIVATE_KEY_SECRET_ID: 'keys/kp-test',
      ESCROW_SECRET_TAGS: 'team=platform',
    });
    const store = await createEscrowStore(config, { secretsManagerClient: client });
    expect(store.kind).toBe('secrets-manager');
    const ref = newRef();
    const v = await store.put(recordFor(ref, ciphertext));
    const back = await store.read(ref, v.versionId);
    expect(back?.plaintext).toBe(password);
    const secret = sm
      .secrets()
      .find((s) => s.name === `bms-password-escrow/${ref.projectId}/${ref.serverId}`);
    expect(secret?.tags).toEqual({ team: 'platform' });
    expect(JSON.stringify(secret?.tags)).not.toContain(password);
  });

  it('fails at start-up, naming the AWS error, when the key secret is missing', async () => {
    const config = parseEscrowConfig({ ESCROW_PRIVATE_KEY_SECRET_ID: 'keys/absent' });
    const error = await createEscrowStore(config, { secretsManagerClient: client }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DecryptError);
    expect((error as DecryptError).code).toBe('ResourceNotFoundException');
    expect((error as DecryptError).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
