import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/config/env-parsers.ts';
import { parseEscrowConfig } from '../../../lib/escrow/escrow-config.ts';

function configError(env: Record<string, string>): ConfigError {
  try {
    parseEscrowConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseEscrowConfig', () => {
  it('defaults to the file store with decrypt mode off', () => {
    expect(parseEscrowConfig({})).toEqual({
      store: 'file',
      fileDir: './.escrow',
      secretPrefix: 'bms-password-escrow',
      kmsKeyId: undefined,
      tags: {},
      decrypt: { enabled: false },
    });
  });

  it('reads the Secrets Manager settings', () => {
    const config = parseEscrowConfig({
      ESCROW_STORE: 'secrets-manager',
      ESCROW_SECRET_PREFIX: 'org/escrow',
      ESCROW_KMS_KEY_ID: 'alias/escrow',
      ESCROW_SECRET_TAGS: 'team=platform, env=prod',
      ESCROW_FILE_DIR: '/var/lib/escrow',
    });
    expect(config).toMatchObject({
      store: 'secrets-manager',
      secretPrefix: 'org/escrow',
      kmsKeyId: 'alias/escrow',
      tags: { team: 'platform', env: 'prod' },
      fileDir: '/var/lib/escrow',
    });
  });

  it('names the variable and what is expected when a value is wrong', () => {
    expect(configError({ ESCROW_STORE: 'vault' }).variable).toBe('ESCROW_STORE');
    expect(configError({ ESCROW_SECRET_PREFIX: 'bad prefix' }).message).toMatch(
      /^ESCROW_SECRET_PREFIX must be/,
    );
    expect(configError({ ESCROW_SECRET_PREFIX: 'trailing/' }).variable).toBe('ESCROW_SECRET_PREFIX');
    expect(configError({ ESCROW_SECRET_TAGS: 'novalue' }).variable).toBe('ESCROW_SECRET_TAGS');
    expect(configError({ ESCROW_SECRET_TAGS: 'aws:x=1' }).variable).toBe('ESCROW_SECRET_TAGS');
  });

  it('turns decrypt mode on with a key source, and insists on exactly one', () => {
    expect(parseEscrowConfig({ ESCROW_PRIVATE_KEY_FILE: '/k.pem' }).decrypt).toEqual({
      enabled: true,
      privateKeyFile: '/k.pem',
      privateKeySecretId: undefined,
    });
    expect(
      parseEscrowConfig({ ESCROW_PRIVATE_KEY_SECRET_ID: 'kp/escrow', ESCROW_DECRYPT: 'true' }).decrypt,
    ).toMatchObject({ enabled: true, privateKeySecretId: 'kp/escrow' });
    expect(parseEscrowConfig({ ESCROW_PRIVATE_KEY_FILE: '/k.pem', ESCROW_DECRYPT: 'off' }).decrypt).toEqual({
      enabled: false,
    });
    expect(configError({ ESCROW_DECRYPT: 'yes' }).variable).toBe('ESCROW_DECRYPT');
    expect(
      configError({ ESCROW_PRIVATE_KEY_FILE: '/k.pem', ESCROW_PRIVATE_KEY_SECRET_ID: 'x' }).variable,
    ).toBe('ESCROW_PRIVATE_KEY_FILE');
  });
});
