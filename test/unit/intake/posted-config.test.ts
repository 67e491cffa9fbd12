/** Parsing the "posted" notification settings: off by default, signed when keyed, fail closed. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/config/env-parsers.ts';
import { parsePostedConfig, readPostedMode } from '../../../lib/intake/posted/posted-config.ts';
import { parsePipelineConfig } from '../../../lib/pipeline/pipeline-config.ts';

const P1 = '0a419ac94f80f2c62f14c01e34abcdef';
const P2 = '1b419ac94f80f2c62f14c01e34abcdef';
const TARGETS = [
  { region: 'cn-north-4', projectId: P1 },
  { region: 'ap-southeast-1', projectId: P2 },
];
const KEY = 'k'.repeat(32);

describe('parsePostedConfig', () => {
  it('is off when nothing is set, and then the worker behaves as before', () => {
    expect(parsePostedConfig({}, TARGETS).mode).toBe('off');
    expect(parsePostedConfig({}, []).mode).toBe('off');
    expect(parsePipelineConfig({}).ledgerBeforeFind).toBe(false);
  });

  it('a key turns on signed mode, for the sweep targets, with their regions', () => {
    const config = parsePostedConfig({ ESCROW_POSTED_HMAC_KEY: KEY }, TARGETS);
    expect(config.mode).toBe('hmac');
    expect(config.key?.toString()).toBe(KEY);
    expect([...config.projects]).toEqual([
      [P1, 'cn-north-4'],
      [P2, 'ap-southeast-1'],
    ]);
    expect(config).toMatchObject({ maxSkewSeconds: 300, minIntervalSeconds: 60, showsPerMinute: 250 });
    expect(parsePipelineConfig({ ESCROW_POSTED_MODE: 'hmac' }).ledgerBeforeFind).toBe(true);
  });

  it('narrows the projects to ESCROW_ALLOWED_PROJECT_IDS', () => {
    const config = parsePostedConfig(
      { ESCROW_POSTED_HMAC_KEY: KEY, ESCROW_ALLOWED_PROJECT_IDS: P2 },
      TARGETS,
    );
    expect([...config.projects.keys()]).toEqual([P2]);
  });

  it('fails closed: no project may notify, a short or missing key', () => {
    expect(() => parsePostedConfig({ ESCROW_POSTED_HMAC_KEY: KEY }, [])).toThrow(ConfigError);
    expect(() =>
      parsePostedConfig({ ESCROW_POSTED_HMAC_KEY: KEY, ESCROW_ALLOWED_PROJECT_IDS: 'ffff' }, TARGETS),
    ).toThrow(/ESCROW_POSTED_MODE/);
    expect(() => parsePostedConfig({ ESCROW_POSTED_HMAC_KEY: 'short' }, TARGETS)).toThrow(
      /ESCROW_POSTED_HMAC_KEY .*must be at least 32/,
    );
    expect(() => parsePostedConfig({ ESCROW_POSTED_MODE: 'hmac' }, TARGETS)).toThrow(
      /ESCROW_POSTED_HMAC_KEY/,
    );
    expect(() => readPostedMode({ ESCROW_POSTED_MODE: 'yes' })).toThrow(/off, hmac, unsigned/);
  });

  it('unsigned only when named; a key alone never means unsigned', () => {
    expect(parsePostedConfig({ ESCROW_POSTED_MODE: 'unsigned' }, TARGETS)).toMatchObject({
      mode: 'unsigned',
      key: undefined,
    });
    expect(parsePostedConfig({ ESCROW_POSTED_MODE: 'off', ESCROW_POSTED_HMAC_KEY: KEY }, TARGETS).mode).toBe(
      'off',
    );
  });
});

describe('the key from a Secrets Manager secret (real SDK client, loopback fake)', () => {
  it('is read once at start-up, takes the place of the variable, and is registered as a secret', async () => {
    const { CreateSecretCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const { startSecretsManagerFake } = await import('../../../harness/fakes/secrets-manager-fake.ts');
    const { composeIntakeRuntime } = await import('../../../lib/intake/intake-runtime.ts');
    const { readPostedKeySecret } = await import('../../../lib/intake/posted/posted-key-secret.ts');
    const { parseIntakeConfig } = await import('../../../lib/intake/intake-config.ts');
    const { redactText } = await import('../../../lib/observability/redact.ts');
    const sm = await startSecretsManagerFake();
    const config = { endpoint: sm.endpoint, ...sm.clientConfig };
    const client = new SecretsManagerClient(config);
    try {
      const secretKey = 'from-the-secret-0123456789abcdef-xyz';
      await client.send(new CreateSecretCommand({ Name: 'escrow/posted-key', SecretString: secretKey }));
      const env = { ESCROW_POSTED_HMAC_KEY_SECRET_ID: 'escrow/posted-key' };
      expect(readPostedMode(env)).toBe('hmac');
      const fromSecret = await readPostedKeySecret(env, config);
      expect(fromSecret).toBe(secretKey);
      const posted = parsePostedConfig(env, TARGETS, fromSecret);
      expect(posted.key?.toString()).toBe(secretKey);
      composeIntakeRuntime({
        config: parseIntakeConfig({}),
        queue: { enqueue: async () => ({ accepted: 0, failed: [] }) },
        bmsFor: () => {
          throw new Error('unused');
        },
        posted,
      });
      expect(redactText(`key=${secretKey}`)).not.toContain(secretKey);
      await expect(
        readPostedKeySecret({ ESCROW_POSTED_HMAC_KEY_SECRET_ID: 'missing' }, config),
      ).rejects.toThrow(/ESCROW_POSTED_HMAC_KEY_SECRET_ID names secret missing/);
      expect(await readPostedKeySecret({}, config)).toBeUndefined();
    } finally {
      client.destroy();
      await sm.close();
    }
  });
});
