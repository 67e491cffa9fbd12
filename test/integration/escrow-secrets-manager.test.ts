import { inspect } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type SecretsManagerFake,
  startSecretsManagerFake,
} from '../../harness/fakes/secrets-manager-fake.ts';
import { sameCiphertext } from '../../lib/escrow/escrow-record.ts';
import {
  CLEARED_LABEL_PREFIX,
  createSecretsManagerEscrowStore,
  ESCROWED_LABEL_PREFIX,
  type SecretsManagerStoreOptions,
  versionIdForSha256,
} from '../../lib/escrow/secrets-manager-store.ts';
import {
  expectCleanStoreError,
  fixtureCiphertexts,
  newRef,
  recordFor,
  storeContract,
} from '../unit/escrow/store-contract.ts';

let sm: SecretsManagerFake;
const clients: SecretsManagerClient[] = [];

function client(): SecretsManagerClient {
  const c = new SecretsManagerClient({ endpoint: sm.endpoint, ...sm.clientConfig, maxAttempts: 1 });
  clients.push(c);
  return c;
}

function makeStore(options: Partial<SecretsManagerStoreOptions> = {}) {
  return createSecretsManagerEscrowStore({ client: client(), ...options });
}

beforeAll(async () => {
  sm = await startSecretsManagerFake();
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await sm.close();
});
beforeEach(() => sm.faults.reset());

const { first, second } = fixtureCiphertexts;

describe('Secrets Manager escrow store (real SDK client, fake on loopback): the store contract', () => {
  storeContract(() => makeStore());
});

describe('Secrets Manager escrow store: how it uses Secrets Manager', () => {
  it('writes one secret per server with the record as JSON, the KMS key and the tags', async () => {
    const store = makeStore({ prefix: 'esc', kmsKeyId: 'alias/escrow', tags: { team: 'platform' } });
    const ref = newRef();
    const record = recordFor(ref, first);
    const v = await store.put(record);
    const secret = sm.secrets().find((s) => s.name === `esc/${ref.projectId}/${ref.serverId}`);
    expect(secret?.kmsKeyId).toBe('alias/escrow');
    expect(secret?.tags).toEqual({ team: 'platform' });
    expect(secret?.versions).toHaveLength(1);
    expect(v.versionId).toBe(versionIdForSha256(record.sha256));
    expect(secret?.versions[0]?.versionId).toBe(v.versionId);
    const value = JSON.parse(secret?.versions[0]?.secretString ?? '{}');
    expect(value).toEqual({
      schema: 1,
      serverId: ref.serverId,
      serverName: 'win-bms-01',
      projectId: ref.projectId,
      region: ref.region,
      keyName: 'kp-test',
      ciphertext: first,
      sha256: record.sha256,
      retrievedAt: record.retrievedAt,
    });
    // Names, descriptions and tags are logged by CloudTrail: no secret there.
    expect(JSON.stringify({ ...secret, versions: [] })).not.toContain(first);
  });

  it('keeps every escrowed version labeled, with AWSCURRENT on the newest', async () => {
    const store = makeStore();
    const ref = newRef();
    const v1 = await store.put(recordFor(ref, first));
    const v2 = await store.put(recordFor(ref, second));
    const versions = sm.secrets().find((s) => s.name.endsWith(ref.serverId))?.versions ?? [];
    const stages = new Map(versions.map((v) => [v.versionId, v.stages.sort()]));
    // The fake drops unlabeled versions at once, as AWS may: both surviving proves the labels.
    expect(stages.get(v1.versionId)).toEqual(['AWSPREVIOUS', `${ESCROWED_LABEL_PREFIX}${v1.sha256}`]);
    expect(stages.get(v2.versionId)).toEqual(['AWSCURRENT', `${ESCROWED_LABEL_PREFIX}${v2.sha256}`]);
    await store.markCleared(ref, v1.versionId);
    const after = sm.secrets().find((s) => s.name.endsWith(ref.serverId))?.versions ?? [];
    expect(after.find((v) => v.versionId === v1.versionId)?.stages.sort()).toEqual([
      'AWSPREVIOUS',
      `${CLEARED_LABEL_PREFIX}${v1.sha256}`,
    ]);
  });

  it('falls back to PutSecretValue when CreateSecret races another CreateSecret', async () => {
    const [a, b] = [makeStore(), makeStore()];
    const ref = newRef();
    const before = sm.calls().length;
    const [va, vb] = await Promise.all([a.put(recordFor(ref, first)), b.put(recordFor(ref, second))]);
    const calls = sm.calls().slice(before);
    expect(
      calls
        .filter((c) => c.operation === 'CreateSecret')
        .map((c) => c.error ?? 'ok')
        .sort(),
    ).toEqual(['ResourceExistsException', 'ok']);
    expect(calls.some((c) => c.operation === 'PutSecretValue' && c.error === undefined)).toBe(true);
    const versions = sm.secrets().find((s) => s.name.endsWith(ref.serverId))?.versions ?? [];
    expect(versions.map((v) => v.versionId).sort()).toEqual([va.versionId, vb.versionId].sort());
  });

  it('reads the cleared state from labels only, never fetching a secret value', async () => {
    const store = makeStore();
    const ref = newRef();
    const v = await store.put(recordFor(ref, first));
    const before = sm.calls().length;
    await store.markCleared(ref, v.versionId);
    const ledger = await store.ledger(ref);
    expect(ledger?.versions[0]?.cleared).toBe(true);
    const ops = sm
      .calls()
      .slice(before)
      .map((c) => c.operation);
    expect(ops).not.toContain('GetSecretValue');
    expect(ops).toContain('ListSecretVersionIds');
  });

  it('reads from Secrets Manager on every read, so a tampered value reaches the caller compare', async () => {
    const store = makeStore();
    const ref = newRef();
    const v = await store.put(recordFor(ref, first));
    sm.faults.tamperNextReads(1);
    const tampered = await store.read(ref, v.versionId);
    expect(tampered).toBeDefined();
    expect(sameCiphertext(tampered?.ciphertext ?? '', first)).toBe(false);
    const honest = await store.read(ref, v.versionId);
    expect(sameCiphertext(honest?.ciphertext ?? '', first)).toBe(true);
    const reads = sm
      .calls()
      .filter((c) => c.operation === 'GetSecretValue' && c.secretId?.endsWith(ref.serverId));
    expect(reads).toHaveLength(2);
  });

  it('rejects a read-back whose ciphertext does not match its own sha256', async () => {
    const store = makeStore();
    const ref = newRef();
    const v = await store.put(recordFor(ref, first));
    sm.faults.tamperNextReads(1, (s) => s.replace(first, `B${first.slice(1)}`));
    const error = await store.read(ref, v.versionId).catch((e: unknown) => e);
    expectCleanStoreError(error, 'CorruptRecord', [first]);
  });

  it('turns an AWS failure into an EscrowStoreError with the code and request id, and no secret', async () => {
    const store = makeStore();
    const ref = newRef();
    sm.faults.failNextWrites(1, { status: 400, type: 'AccessDeniedException', message: 'not authorized' });
    const error = await store.put(recordFor(ref, first)).catch((e: unknown) => e);
    const e = expectCleanStoreError(error, 'AccessDeniedException', [first]);
    const failed = sm.calls().find((c) => c.error === 'AccessDeniedException');
    expect(failed?.operation).toBe('CreateSecret');
    expect(e.requestId).toBe(failed?.requestId);
    expect(e.operation).toBe('put');
    expect(inspect(e, { depth: 8 })).not.toContain(first);
    expect(await store.ledger(ref)).toBeUndefined();
  });

  it('maps a server error after SDK retries to the AWS error name', async () => {
    const retrying = new SecretsManagerClient({ endpoint: sm.endpoint, ...sm.clientConfig, maxAttempts: 2 });
    clients.push(retrying);
    const store = createSecretsManagerEscrowStore({ client: retrying });
    const before = sm.calls().length;
    sm.faults.failNext('ListSecretVersionIds', 2);
    const error = await store.ledger(newRef()).catch((e: unknown) => e);
    expectCleanStoreError(error, 'InternalServiceError', []);
    expect(
      sm
        .calls()
        .slice(before)
        .map((c) => c.error),
    ).toEqual(['InternalServiceError', 'InternalServiceError']);
  });

  it('recovers when a crash left the first version without its label', async () => {
    const store = makeStore();
    const ref = newRef();
    const record = recordFor(ref, first);
    sm.faults.failNext('UpdateSecretVersionStage', 1, { status: 400, type: 'ThrottlingException' });
    await expect(store.put(record)).rejects.toMatchObject({ code: 'ThrottlingException' });
    // The version exists with AWSCURRENT only; the ledger does not count it as escrowed.
    expect((await store.ledger(ref))?.versions).toEqual([]);
    const v = await store.put(recordFor(ref, first));
    expect(v.versionId).toBe(versionIdForSha256(record.sha256));
    expect((await store.ledger(ref))?.versions.map((x) => x.versionId)).toEqual([v.versionId]);
  });

  it('passes the abort signal to the SDK', async () => {
    const store = makeStore();
    const ref = newRef();
    await store.put(recordFor(ref, first));
    sm.faults.latencyMs = 200;
    const controller = new AbortController();
    const pending = store.ledger(ref, { signal: controller.signal }).catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 20);
    const error = await pending;
    expectCleanStoreError(error, 'AbortError', [first]);
  });
});
