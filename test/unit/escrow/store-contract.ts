/**
 * Behaviours every EscrowStore must have, run against each adapter over its real medium
 * (the file system, or the real SDK client against the Secrets Manager fake).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { buildEscrowRecord, sameCiphertext } from '../../../lib/escrow/escrow-record.ts';
import { type EscrowStore, EscrowStoreError, type ServerRef } from '../../../lib/escrow/escrow-store.ts';
import { fixturePath } from '../../helpers/fixtures.ts';

export const fixtureCiphertexts = {
  first: readFileSync(fixturePath('testkeys/password.rsa2048.cbi.b64'), 'utf8').trim(),
  second: readFileSync(fixturePath('testkeys/password.rsa2048.openssl.b64'), 'utf8').trim(),
};

export function newRef(): ServerRef {
  return { projectId: randomBytes(16).toString('hex'), region: 'cn-north-4', serverId: randomUUID() };
}

/** A random 2048-bit-shaped ciphertext (344 base64 characters). */
export function randomCiphertext(): string {
  return randomBytes(256).toString('base64');
}

export function recordFor(ref: ServerRef, ciphertext: string, retrievedAt = new Date()) {
  return buildEscrowRecord({ ref, ciphertext, retrievedAt, serverName: 'win-bms-01', keyName: 'kp-test' });
}

/** Asserts an error is an EscrowStoreError that names none of `secrets` anywhere in its message. */
export function expectCleanStoreError(error: unknown, code: string, secrets: string[]): EscrowStoreError {
  expect(error).toBeInstanceOf(EscrowStoreError);
  const e = error as EscrowStoreError;
  expect(e.code).toBe(code);
  for (const s of secrets) {
    expect(e.message).not.toContain(s);
    expect(String(e.stack)).not.toContain(s);
  }
  return e;
}

export function storeContract(makeStore: () => EscrowStore): void {
  const { first, second } = fixtureCiphertexts;

  it('escrows a first ciphertext as one uncleared version', async () => {
    const store = makeStore();
    const ref = newRef();
    expect(await store.ledger(ref)).toBeUndefined();
    const record = recordFor(ref, first);
    const v = await store.put(record);
    expect(v.sha256).toBe(record.sha256);
    expect(v.cleared).toBe(false);
    const ledger = await store.ledger(ref);
    expect(ledger?.versions.map((x) => [x.versionId, x.sha256, x.cleared])).toEqual([
      [v.versionId, record.sha256, false],
    ]);
  });

  it('reads back exactly what was written', async () => {
    const store = makeStore();
    const ref = newRef();
    const record = recordFor(ref, first);
    const v = await store.put(record);
    const back = await store.read(ref, v.versionId);
    expect(back).toBeDefined();
    expect(sameCiphertext(back?.ciphertext ?? '', first)).toBe(true);
    expect(back).toEqual(record);
  });

  it('treats a rewrite of the same ciphertext as a no-op, even with a later retrievedAt', async () => {
    const store = makeStore();
    const ref = newRef();
    const v1 = await store.put(recordFor(ref, first, new Date('2026-01-01T00:00:00Z')));
    const again = await store.put(recordFor(ref, first, new Date('2026-01-01T00:05:00Z')));
    expect(again.versionId).toBe(v1.versionId);
    expect((await store.ledger(ref))?.versions).toHaveLength(1);
    // The first write is kept; nothing was overwritten.
    expect((await store.read(ref, v1.versionId))?.retrievedAt).toBe('2026-01-01T00:00:00.000Z');
  });

  it('stores a second ciphertext as a new version and keeps the first intact', async () => {
    const store = makeStore();
    const ref = newRef();
    const v1 = await store.put(recordFor(ref, first));
    const v2 = await store.put(recordFor(ref, second));
    expect(v2.versionId).not.toBe(v1.versionId);
    const ledger = await store.ledger(ref);
    expect(ledger?.versions.map((v) => v.versionId).sort()).toEqual([v1.versionId, v2.versionId].sort());
    expect((await store.read(ref, v1.versionId))?.ciphertext).toBe(first);
    expect((await store.read(ref, v2.versionId))?.ciphertext).toBe(second);
  });

  it('lets concurrent identical writes all succeed with one version', async () => {
    const stores = [makeStore(), makeStore(), makeStore()];
    const ref = newRef();
    const results = await Promise.all(
      stores.flatMap((s) => [s.put(recordFor(ref, first)), s.put(recordFor(ref, first))]),
    );
    expect(new Set(results.map((r) => r.versionId)).size).toBe(1);
    expect((await stores[0]!.ledger(ref))?.versions).toHaveLength(1);
  });

  it('lets concurrent first writes of different ciphertexts both land', async () => {
    const [a, b] = [makeStore(), makeStore()];
    const ref = newRef();
    const [va, vb] = await Promise.all([a!.put(recordFor(ref, first)), b!.put(recordFor(ref, second))]);
    const ledger = await a!.ledger(ref);
    expect(ledger?.versions.map((v) => v.versionId).sort()).toEqual([va.versionId, vb.versionId].sort());
  });

  it('records markCleared in the ledger, idempotently, for that version only', async () => {
    const store = makeStore();
    const ref = newRef();
    const v1 = await store.put(recordFor(ref, first));
    const v2 = await store.put(recordFor(ref, second));
    await store.markCleared(ref, v1.versionId);
    await store.markCleared(ref, v1.versionId);
    const byId = new Map((await store.ledger(ref))?.versions.map((v) => [v.versionId, v.cleared]));
    expect(byId.get(v1.versionId)).toBe(true);
    expect(byId.get(v2.versionId)).toBe(false);
    // A cleared version stays readable, and rewriting it reports it as cleared.
    expect((await store.read(ref, v1.versionId))?.ciphertext).toBe(first);
    expect((await store.put(recordFor(ref, first))).cleared).toBe(true);
  });

  it('refuses to mark an unknown version cleared', async () => {
    const store = makeStore();
    const ref = newRef();
    const v = await store.put(recordFor(ref, first));
    await store.markCleared(ref, v.versionId);
    const other = await store.put(recordFor(newRef(), second));
    const error = await store.markCleared(ref, other.versionId).catch((e: unknown) => e);
    expectCleanStoreError(error, 'VersionNotFound', [first, second]);
  });

  it('returns undefined for a version or server it does not hold', async () => {
    const store = makeStore();
    const ref = newRef();
    const v = await store.put(recordFor(ref, first));
    expect(await store.read(newRef(), v.versionId)).toBeUndefined();
    const other = await store.put(recordFor(newRef(), second));
    expect(await store.read(ref, other.versionId)).toBeUndefined();
  });

  it('rejects an already aborted call', async () => {
    const store = makeStore();
    const ref = newRef();
    const signal = AbortSignal.abort(new Error('shutting down'));
    const error = await store.put(recordFor(ref, first), { signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EscrowStoreError);
    expect(await store.ledger(ref)).toBeUndefined();
  });
}
