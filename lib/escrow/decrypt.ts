/**
 * Optional decrypt mode: escrow the plaintext beside the ciphertext. Off by default, because
 * escrowing the ciphertext alone keeps the private key out of the function.
 *
 * The ciphertext is RSA PKCS#1 v1.5 (Cloudbase-Init). Node 24's OpenSSL uses implicit
 * rejection for that padding: a wrong key yields random bytes instead of an error. So the key
 * size must match the ciphertext and the result must look like a password (printable ASCII of
 * a sane length), otherwise it is a DecryptError. Errors never carry the ciphertext, the
 * plaintext or the key.
 */
import { constants, createPrivateKey, type KeyObject, privateDecrypt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CallOptions } from '../huawei/bms-types.ts';
import { registerSecret } from '../observability/redact.ts';
import { type EscrowStore, EscrowStoreError } from './escrow-store.ts';

export type DecryptProblem = 'key-source' | 'key-format' | 'key-mismatch' | 'ciphertext' | 'not-a-password';

export class DecryptError extends Error {
  override name = 'DecryptError';
  readonly reason: DecryptProblem;
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  constructor(
    reason: DecryptProblem,
    message: string,
    details: { code?: string | undefined; requestId?: string | undefined; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.reason = reason;
    this.code = details.code;
    this.requestId = details.requestId;
  }
}

export interface DecryptConfig {
  enabled: boolean;
  privateKeyFile?: string | undefined;
  privateKeySecretId?: string | undefined;
}

export interface PasswordDecryptor {
  /** Base64 PKCS#1 v1.5 ciphertext → the password. Throws DecryptError. */
  decrypt(ciphertextBase64: string): string;
}

/** Cloudbase-Init passwords are [A-Za-z0-9]; Huawei admin passwords add punctuation. Both fit. */
const PASSWORD = /^[\x20-\x7e]{8,256}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses a PEM private key (PKCS#1 or PKCS#8). The PEM text is registered as a secret. */
export function parsePrivateKey(pem: string): KeyObject {
  registerSecret(pem);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new DecryptError('key-format', 'the private key is not a readable PEM private key', {
      cause: safeCause(cause),
    });
  }
  if (key.asymmetricKeyType !== 'rsa')
    throw new DecryptError(
      'key-format',
      `the private key is ${key.asymmetricKeyType ?? 'unknown'}, expected RSA`,
    );
  return key;
}

export interface KeySourceDeps {
  /** Needed when the key lives in Secrets Manager. */
  secretsManagerClient?: SecretsManagerClient | undefined;
}

/** Loads the private key named by the config (a file, or a Secrets Manager secret holding the PEM). */
export async function loadPrivateKey(
  config: DecryptConfig,
  deps: KeySourceDeps = {},
  options?: CallOptions,
): Promise<KeyObject> {
  if (config.privateKeyFile !== undefined) {
    let pem: string;
    try {
      pem = await readFile(config.privateKeyFile, 'utf8');
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      throw new DecryptError('key-source', `cannot read the private key file (${code ?? 'error'})`, {
        code,
        cause,
      });
    }
    return parsePrivateKey(pem);
  }
  if (config.privateKeySecretId !== undefined) {
    if (!deps.secretsManagerClient)
      throw new DecryptError('key-source', 'a Secrets Manager client is needed to load the private key');
    try {
      const out = await deps.secretsManagerClient.send(
        new GetSecretValueCommand({ SecretId: config.privateKeySecretId }),
        { abortSignal: options?.signal },
      );
      if (out.SecretString === undefined)
        throw new DecryptError('key-format', 'the private key secret holds no SecretString');
      return parsePrivateKey(out.SecretString);
    } catch (error) {
      if (error instanceof DecryptError) throw error;
      const e = error as { name?: string; $metadata?: { requestId?: string } };
      throw new DecryptError('key-source', `cannot read the private key secret (${e.name ?? 'error'})`, {
        code: e.name,
        requestId: e.$metadata?.requestId,
        cause: error,
      });
    }
  }
  throw new DecryptError('key-source', 'no private key source is configured');
}

export function createPasswordDecryptor(key: KeyObject): PasswordDecryptor {
  const modulusBytes = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  return {
    decrypt(ciphertextBase64) {
      const text = ciphertextBase64.trim();
      if (text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text))
        throw new DecryptError('ciphertext', 'the ciphertext is not base64');
      const bytes = Buffer.from(text, 'base64');
      if (bytes.length !== modulusBytes)
        throw new DecryptError(
          'key-mismatch',
          `the ciphertext is ${bytes.length * 8} bits but the private key is ${modulusBytes * 8} bits`,
        );
      let plain: Buffer;
      try {
        plain = privateDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, bytes);
      } catch (cause) {
        throw new DecryptError(
          'key-mismatch',
          'RSA decryption failed; is this the key pair the server was created with?',
          {
            cause: safeCause(cause),
          },
        );
      }
      const password = plain.toString('latin1');
      plain.fill(0);
      if (!PASSWORD.test(password))
        throw new DecryptError(
          'not-a-password',
          'decryption did not yield a password; the private key probably does not match the server key pair',
        );
      registerSecret(password);
      return password;
    },
  };
}

/**
 * Decrypt mode as a store decorator: `put` adds the plaintext to a record that lacks one, so
 * the pipeline stays unaware of it. A decrypt failure fails the put, so nothing is cleared
 * until the operator fixes the key.
 */
export function withDecryption(store: EscrowStore, decryptor: PasswordDecryptor): EscrowStore {
  return {
    kind: store.kind,
    async put(record, options) {
      if (record.plaintext !== undefined) return store.put(record, options);
      let plaintext: string;
      try {
        plaintext = decryptor.decrypt(record.ciphertext);
      } catch (error) {
        throw new EscrowStoreError(store.kind, 'put', (error as Error).message, {
          code: 'DecryptFailed',
          cause: error,
        });
      }
      return store.put({ ...record, plaintext }, options);
    },
    read: (ref, versionId, options) => store.read(ref, versionId, options),
    markCleared: (ref, versionId, options) => store.markCleared(ref, versionId, options),
    ledger: (ref, options) => store.ledger(ref, options),
    watches: store.watches,
  };
}

/** OpenSSL errors carry no key material, but keep only their names and codes to be sure. */
function safeCause(cause: unknown): Error {
  const e = cause as { name?: string; code?: string; reason?: string };
  const out = new Error(`${e?.code ?? e?.name ?? 'crypto error'}${e?.reason ? ` (${e.reason})` : ''}`);
  out.name = typeof e?.name === 'string' ? e.name : 'Error';
  return out;
}
