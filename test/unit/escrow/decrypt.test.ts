import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createPasswordDecryptor,
  DecryptError,
  loadPrivateKey,
  parsePrivateKey,
  withDecryption,
} from '../../../lib/escrow/decrypt.ts';
import { createFileEscrowStore } from '../../../lib/escrow/file-store.ts';
import { REDACTED, redactText } from '../../../lib/observability/redact.ts';
import { fixturePath } from '../../helpers/fixtures.ts';
import { expectCleanStoreError, newRef, recordFor } from './store-contract.ts';

const keys = (name: string): string => readFileSync(fixturePath(`testkeys/${name}`), 'utf8');
const password = keys('password.txt');
const key2048 = keys('test-rsa2048.pem');
const key4096 = keys('test-rsa4096.pem');
const ciphertexts = {
  rsa2048: [keys('password.rsa2048.cbi.b64').trim(), keys('password.rsa2048.openssl.b64').trim()],
  rsa4096: [keys('password.rsa4096.cbi.b64').trim(), keys('password.rsa4096.openssl.b64').trim()],
};
const tmp = mkdtempSync(join(tmpdir(), 'escrow-decrypt-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Throws, and the error names neither the ciphertext, the password nor the key. */
function decryptError(fn: () => unknown, ciphertext: string): DecryptError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DecryptError);
    const text = inspect(error, { depth: 8 });
    for (const secret of [ciphertext, password, ...key2048.split('\n').slice(1, 4)])
      expect(text).not.toContain(secret);
    return error as DecryptError;
  }
  throw new Error('expected a DecryptError');
}

describe('decrypt mode', () => {
  it('decrypts the Cloudbase-Init and openssl fixtures with the matching key', () => {
    const d2048 = createPasswordDecryptor(parsePrivateKey(key2048));
    const d4096 = createPasswordDecryptor(parsePrivateKey(key4096));
    for (const c of ciphertexts.rsa2048) expect(d2048.decrypt(c)).toBe(password);
    for (const c of ciphertexts.rsa4096) expect(d4096.decrypt(c)).toBe(password);
  });

  it('registers the plaintext so no log line can carry it', () => {
    createPasswordDecryptor(parsePrivateKey(key2048)).decrypt(ciphertexts.rsa2048[0]!);
    expect(redactText(`pw=${password}`)).toBe(`pw=${REDACTED}`);
  });

  it('fails cleanly with a key of the wrong size', () => {
    const c = ciphertexts.rsa2048[0]!;
    const e = decryptError(() => createPasswordDecryptor(parsePrivateKey(key4096)).decrypt(c), c);
    expect(e.reason).toBe('key-mismatch');
  });

  it('fails cleanly with a different key of the same size (implicit rejection yields no error by itself)', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    for (const c of ciphertexts.rsa2048) {
      const e = decryptError(() => createPasswordDecryptor(other).decrypt(c), c);
      expect(['not-a-password', 'key-mismatch']).toContain(e.reason);
    }
  });

  it('rejects a ciphertext that is not base64, and a key that is not a PEM private key', () => {
    expect(
      decryptError(() => createPasswordDecryptor(parsePrivateKey(key2048)).decrypt('%%%'), '%%%').reason,
    ).toBe('ciphertext');
    const pub = keys('test-rsa2048.pub.pem');
    expect(decryptError(() => parsePrivateKey(pub), pub).reason).toBe('key-format');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const ecBody = ec.split('\n')[1] ?? ec;
    expect(decryptError(() => parsePrivateKey(ec), ecBody).reason).toBe('key-format');
  });

  it('loads the key from a file, with a clean error when the file is missing', async () => {
    const file = join(tmp, 'key.pem');
    writeFileSync(file, key2048, { mode: 0o600 });
    const key = await loadPrivateKey({ enabled: true, privateKeyFile: file });
    expect(createPasswordDecryptor(key).decrypt(ciphertexts.rsa2048[1]!)).toBe(password);
    const missing = await loadPrivateKey({ enabled: true, privateKeyFile: join(tmp, 'nope.pem') }).catch(
      (e: unknown) => e,
    );
    expect(missing).toBeInstanceOf(DecryptError);
    expect((missing as DecryptError).reason).toBe('key-source');
  });

  it('escrows the plaintext beside the ciphertext, and refuses the write when decryption fails', async () => {
    const root = join(tmp, 'store');
    const good = withDecryption(
      createFileEscrowStore({ root }),
      createPasswordDecryptor(parsePrivateKey(key2048)),
    );
    const ref = newRef();
    const c = ciphertexts.rsa2048[0]!;
    const v = await good.put(recordFor(ref, c));
    const back = await good.read(ref, v.versionId);
    expect(back?.ciphertext).toBe(c);
    expect(back?.plaintext).toBe(password);

    const wrong = withDecryption(
      createFileEscrowStore({ root }),
      createPasswordDecryptor(parsePrivateKey(key4096)),
    );
    const other = newRef();
    const error = await wrong.put(recordFor(other, c)).catch((e: unknown) => e);
    expectCleanStoreError(error, 'DecryptFailed', [c, password]);
    expect(await wrong.ledger(other)).toBeUndefined();
  });
});
