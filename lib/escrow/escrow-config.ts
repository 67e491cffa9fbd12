/**
 * Escrow configuration, parsed once from the environment, and the factory that turns it into
 * an EscrowStore. The Secrets Manager endpoint is not configured here: the SDK reads
 * AWS_ENDPOINT_URL_SECRETS_MANAGER itself, and tests pass a client or clientConfig in `deps`.
 */
import { SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import {
  ConfigError,
  type Env,
  readBoolean,
  readEnum,
  readKeyValues,
  readString,
} from '../config/env-parsers.ts';
import type { CallOptions } from '../huawei/bms-types.ts';
import { createPasswordDecryptor, type DecryptConfig, loadPrivateKey, withDecryption } from './decrypt.ts';
import type { EscrowStore } from './escrow-store.ts';
import { createFileEscrowStore, DEFAULT_ESCROW_FILE_DIR } from './file-store.ts';
import { createSecretsManagerEscrowStore, DEFAULT_SECRET_PREFIX } from './secrets-manager-store.ts';

export type EscrowStoreKind = 'file' | 'secrets-manager';

export interface EscrowConfig {
  store: EscrowStoreKind;
  fileDir: string;
  secretPrefix: string;
  kmsKeyId?: string | undefined;
  tags: Record<string, string>;
  decrypt: DecryptConfig;
}

/** Characters Secrets Manager allows in a name. */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]+$/;

export function parseEscrowConfig(env: Env): EscrowConfig {
  const store = readEnum<EscrowStoreKind>(env, 'ESCROW_STORE', ['file', 'secrets-manager'], 'file');
  const secretPrefix = readString(env, 'ESCROW_SECRET_PREFIX', DEFAULT_SECRET_PREFIX);
  if (
    !SECRET_NAME.test(secretPrefix) ||
    secretPrefix.startsWith('/') ||
    secretPrefix.endsWith('/') ||
    secretPrefix.length > 300
  )
    throw new ConfigError(
      'ESCROW_SECRET_PREFIX',
      `must be up to 300 of A-Z a-z 0-9 / _ + = . @ - without a leading or trailing "/", got "${secretPrefix}"`,
    );
  const tags = readKeyValues(env, 'ESCROW_SECRET_TAGS');
  for (const [key, value] of Object.entries(tags)) {
    if (key.length > 128 || value.length > 256 || key.toLowerCase().startsWith('aws:'))
      throw new ConfigError(
        'ESCROW_SECRET_TAGS',
        `has an invalid tag "${key}": keys up to 128 characters not starting with "aws:", values up to 256`,
      );
  }
  const privateKeyFile = readString(env, 'ESCROW_PRIVATE_KEY_FILE');
  const privateKeySecretId = readString(env, 'ESCROW_PRIVATE_KEY_SECRET_ID');
  const enabled = readBoolean(
    env,
    'ESCROW_DECRYPT',
    privateKeyFile !== undefined || privateKeySecretId !== undefined,
  );
  if (enabled && privateKeyFile === undefined && privateKeySecretId === undefined)
    throw new ConfigError(
      'ESCROW_DECRYPT',
      'is on but no key is configured; set ESCROW_PRIVATE_KEY_FILE or ESCROW_PRIVATE_KEY_SECRET_ID',
    );
  if (enabled && privateKeyFile !== undefined && privateKeySecretId !== undefined)
    throw new ConfigError(
      'ESCROW_PRIVATE_KEY_FILE',
      'and ESCROW_PRIVATE_KEY_SECRET_ID are both set; choose one private key source',
    );
  return {
    store,
    fileDir: readString(env, 'ESCROW_FILE_DIR', DEFAULT_ESCROW_FILE_DIR),
    secretPrefix,
    kmsKeyId: readString(env, 'ESCROW_KMS_KEY_ID'),
    tags,
    decrypt: enabled ? { enabled, privateKeyFile, privateKeySecretId } : { enabled: false },
  };
}

export interface EscrowStoreDeps {
  /** Shared with the private-key loader; otherwise built from `secretsManagerClientConfig`. */
  secretsManagerClient?: SecretsManagerClient | undefined;
  secretsManagerClientConfig?: SecretsManagerClientConfig | undefined;
}

/** Builds the configured store; in decrypt mode loads the key first (so a bad key fails at start-up). */
export async function createEscrowStore(
  config: EscrowConfig,
  deps: EscrowStoreDeps = {},
  options?: CallOptions,
): Promise<EscrowStore> {
  let client = deps.secretsManagerClient;
  const smClient = (): SecretsManagerClient => {
    client ??= new SecretsManagerClient(deps.secretsManagerClientConfig ?? {});
    return client;
  };
  const store =
    config.store === 'secrets-manager'
      ? createSecretsManagerEscrowStore({
          client: smClient(),
          prefix: config.secretPrefix,
          kmsKeyId: config.kmsKeyId,
          tags: config.tags,
        })
      : createFileEscrowStore({ root: config.fileDir });
  if (!config.decrypt.enabled) return store;
  const key = await loadPrivateKey(
    config.decrypt,
    { secretsManagerClient: config.decrypt.privateKeySecretId === undefined ? undefined : smClient() },
    options,
  );
  return withDecryption(store, createPasswordDecryptor(key));
}
