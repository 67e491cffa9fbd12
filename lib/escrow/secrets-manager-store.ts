/**
 * EscrowStore on AWS Secrets Manager: one secret per server, one secret version per distinct
 * ciphertext.
 *
 * - The version id is the ClientRequestToken, derived from the ciphertext's sha256, so a retried
 *   write is Secrets Manager's own no-op and a new ciphertext is a new version; nothing is
 *   overwritten (a version's value is immutable).
 * - Unlabeled versions are "deprecated" and may be deleted by AWS, so every escrowed version
 *   keeps its own label: `escrowed-<sha256>`, replaced by `cleared-<sha256>` once the cloud
 *   record is cleared (the new label is added before the old one is removed, so the version is
 *   never unlabeled). The newest write also takes AWSCURRENT. The ledger reads labels only
 *   (ListSecretVersionIds), never a secret value.
 * - Secrets Manager allows 20 labels per secret: AWSCURRENT, AWSPREVIOUS and 18 escrowed
 *   versions. Past that a write fails with LimitExceededException, so nothing is cleared and
 *   the server is surfaced; it would take 18 reinstalls of one server.
 * - The endpoint comes from `AWS_ENDPOINT_URL_SECRETS_MANAGER` (read by the SDK) or `clientConfig`.
 */
import { createHash } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { CallOptions } from '../huawei/bms-types.ts';
import { redactText } from '../observability/redact.ts';
import { EscrowRecordError, isSafeId, parseEscrowRecord, serializeEscrowRecord } from './escrow-record.ts';
import {
  type EscrowLedger,
  type EscrowRecord,
  type EscrowStore,
  EscrowStoreError,
  type EscrowVersionInfo,
  type ServerRef,
} from './escrow-store.ts';
import { encodeWatchLease, parseWatchLease, type WatchStore } from './watch-lease.ts';

export const DEFAULT_SECRET_PREFIX = 'bms-password-escrow';
export const ESCROWED_LABEL_PREFIX = 'escrowed-';
export const CLEARED_LABEL_PREFIX = 'cleared-';
/** The tag on a server's secret that names the chain watching it (watch-lease.ts). */
export const WATCH_TAG = 'bms-password-escrow:watch';
const STORE = 'secrets-manager';
/** Fixed namespace for the UUIDv5 version ids (random, generated once for this project). */
const VERSION_NAMESPACE = Buffer.from('6f1d3c2a9b8e4f7da1c05e2b7d94f3a1', 'hex');
const DESCRIPTION = 'Escrowed Windows initial password record (bms-password-escrow)';

export interface SecretsManagerStoreOptions {
  /** An existing client; otherwise one is built from `clientConfig`. */
  client?: SecretsManagerClient | undefined;
  clientConfig?: SecretsManagerClientConfig | undefined;
  /** Secret names are `{prefix}/{projectId}/{serverId}`. */
  prefix?: string | undefined;
  kmsKeyId?: string | undefined;
  /** Applied when the secret is created. Never secret values. */
  tags?: Record<string, string> | undefined;
}

export function escrowSecretName(prefix: string, ref: ServerRef): string {
  for (const field of ['projectId', 'serverId'] as const)
    if (!isSafeId(ref[field]))
      throw new EscrowStoreError(STORE, 'name', `${field} is not a valid id`, { code: 'InvalidId' });
  return `${prefix}/${ref.projectId}/${ref.serverId}`;
}

/** A UUIDv5 of the ciphertext's sha256: the deterministic ClientRequestToken and VersionId. */
export function versionIdForSha256(sha256: string): string {
  const h = createHash('sha1').update(VERSION_NAMESPACE).update(sha256).digest().subarray(0, 16);
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

interface VersionLabels {
  versionId: string;
  stages: string[];
  createdAt?: string | undefined;
}

/** What the labels say about one version; undefined for a version this store did not escrow. */
function escrowState(v: VersionLabels): EscrowVersionInfo | undefined {
  const cleared = v.stages.find((s) => s.startsWith(CLEARED_LABEL_PREFIX));
  const escrowed = v.stages.find((s) => s.startsWith(ESCROWED_LABEL_PREFIX));
  const sha256 = cleared?.slice(CLEARED_LABEL_PREFIX.length) ?? escrowed?.slice(ESCROWED_LABEL_PREFIX.length);
  if (sha256 === undefined) return undefined;
  return { versionId: v.versionId, sha256, createdAt: v.createdAt, cleared: cleared !== undefined };
}

function awsErrorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/**
 * AWS error → EscrowStoreError with the AWS error name and request id. The service's message
 * is kept (it never echoes a SecretString) but still goes through redaction, as a second net.
 */
function storeError(operation: string, error: unknown): EscrowStoreError {
  if (error instanceof EscrowStoreError) return error;
  const e = error as { name?: string; message?: string; $metadata?: { requestId?: string } };
  const code = typeof e?.name === 'string' ? e.name : 'Unknown';
  const message = typeof e?.message === 'string' ? redactText(e.message).slice(0, 300) : 'failed';
  return new EscrowStoreError(STORE, operation, `${code}: ${message}`, {
    code,
    requestId: e?.$metadata?.requestId,
    cause: error,
  });
}

/** What every step needs: the client and the naming/creation settings, resolved once. */
interface SecretsContext {
  client: SecretsManagerClient;
  prefix: string;
  kmsKeyId: string | undefined;
  tags: { Key: string; Value: string }[];
}

const callOptions = (options?: CallOptions) => ({ abortSignal: options?.signal });

/** Every version with its labels, or undefined when the secret does not exist. */
async function listVersions(
  ctx: SecretsContext,
  ref: ServerRef,
  options?: CallOptions,
): Promise<VersionLabels[] | undefined> {
  const out: VersionLabels[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await ctx.client.send(
        new ListSecretVersionIdsCommand({
          SecretId: escrowSecretName(ctx.prefix, ref),
          MaxResults: 100,
          NextToken: nextToken,
        }),
        callOptions(options),
      );
      for (const v of page.Versions ?? []) {
        if (v.VersionId === undefined) continue;
        out.push({
          versionId: v.VersionId,
          stages: v.VersionStages ?? [],
          createdAt: v.CreatedDate?.toISOString(),
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') return undefined;
    throw storeError('ledger', error);
  }
  return out;
}

/** Moves or removes one label; AWS errors become EscrowStoreErrors of `operation`. */
async function updateStage(
  ctx: SecretsContext,
  operation: string,
  input: UpdateSecretVersionStageCommand['input'],
  options?: CallOptions,
): Promise<void> {
  try {
    await ctx.client.send(new UpdateSecretVersionStageCommand(input), callOptions(options));
  } catch (error) {
    throw storeError(operation, error);
  }
}

/**
 * Writes the record as version `versionId`: creates the secret, or adds a version to an
 * existing one. An invalid record is an `InvalidRecord` store error.
 */
async function writeVersion(
  ctx: SecretsContext,
  record: EscrowRecord,
  versionId: string,
  label: string,
  options?: CallOptions,
): Promise<void> {
  let SecretString: string;
  try {
    SecretString = serializeEscrowRecord(record);
  } catch (error) {
    if (error instanceof EscrowRecordError)
      throw new EscrowStoreError(STORE, 'put', error.message, { code: 'InvalidRecord', cause: error });
    throw error;
  }
  const SecretId = escrowSecretName(ctx.prefix, record);
  try {
    await ctx.client.send(
      new CreateSecretCommand({
        Name: SecretId,
        Description: DESCRIPTION,
        SecretString,
        ClientRequestToken: versionId,
        KmsKeyId: ctx.kmsKeyId,
        Tags: ctx.tags.length > 0 ? ctx.tags : undefined,
      }),
      callOptions(options),
    );
    return;
  } catch (error) {
    if (awsErrorName(error) !== 'ResourceExistsException') throw storeError('put', error);
  }
  // The secret exists (an earlier ciphertext, or a racing worker): add a version to it.
  try {
    await ctx.client.send(
      new PutSecretValueCommand({
        SecretId,
        SecretString,
        ClientRequestToken: versionId,
        VersionStages: [label, 'AWSCURRENT'],
      }),
      callOptions(options),
    );
  } catch (error) {
    // Same token, different bytes: this ciphertext is already escrowed (an earlier attempt
    // with another retrievedAt). The caller's read-back compares the ciphertext itself.
    if (awsErrorName(error) !== 'ResourceExistsException') throw storeError('put', error);
  }
}

/** The labels on a version just written; fails when the secret is being deleted or the version is gone. */
async function writtenVersionStages(
  ctx: SecretsContext,
  ref: ServerRef,
  versionId: string,
  options?: CallOptions,
): Promise<string[]> {
  let stages: string[] | undefined;
  try {
    const d = await ctx.client.send(
      new DescribeSecretCommand({ SecretId: escrowSecretName(ctx.prefix, ref) }),
      callOptions(options),
    );
    if (d.DeletedDate !== undefined)
      throw new EscrowStoreError(STORE, 'put', 'the secret is scheduled for deletion', {
        code: 'SecretScheduledForDeletion',
        requestId: d.$metadata.requestId,
      });
    stages = d.VersionIdsToStages?.[versionId];
  } catch (error) {
    throw storeError('put', error);
  }
  if (stages === undefined)
    throw new EscrowStoreError(STORE, 'put', 'the written version is missing', { code: 'VersionMissing' });
  return stages;
}

async function putRecord(
  ctx: SecretsContext,
  record: EscrowRecord,
  options?: CallOptions,
): Promise<EscrowVersionInfo> {
  const versionId = versionIdForSha256(record.sha256);
  const label = `${ESCROWED_LABEL_PREFIX}${record.sha256}`;
  await writeVersion(ctx, record, versionId, label, options);
  // Confirm the version exists and carries a label of ours; CreateSecret cannot attach one,
  // and a crash after an earlier write may have left it with AWSCURRENT only.
  const stages = await writtenVersionStages(ctx, record, versionId, options);
  const info = escrowState({ versionId, stages });
  if (info !== undefined) return info;
  await updateStage(
    ctx,
    'put',
    { SecretId: escrowSecretName(ctx.prefix, record), VersionStage: label, MoveToVersionId: versionId },
    options,
  );
  return { versionId, sha256: record.sha256, cleared: false };
}

async function readRecord(
  ctx: SecretsContext,
  ref: ServerRef,
  versionId: string,
  options?: CallOptions,
): Promise<EscrowRecord | undefined> {
  let secretString: string | undefined;
  try {
    const out = await ctx.client.send(
      new GetSecretValueCommand({ SecretId: escrowSecretName(ctx.prefix, ref), VersionId: versionId }),
      callOptions(options),
    );
    secretString = out.SecretString;
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') return undefined;
    throw storeError('read', error);
  }
  if (secretString === undefined)
    throw new EscrowStoreError(STORE, 'read', 'the version holds no SecretString', { code: 'CorruptRecord' });
  try {
    return parseEscrowRecord(secretString, ref);
  } catch (error) {
    throw new EscrowStoreError(STORE, 'read', (error as Error).message, {
      code: 'CorruptRecord',
      cause: error,
    });
  }
}

async function markVersionCleared(
  ctx: SecretsContext,
  ref: ServerRef,
  versionId: string,
  options?: CallOptions,
): Promise<void> {
  const version = (await listVersions(ctx, ref, options))?.find((v) => v.versionId === versionId);
  const state = version && escrowState(version);
  if (!version || !state)
    throw new EscrowStoreError(STORE, 'markCleared', 'no escrowed version with that id', {
      code: 'VersionNotFound',
    });
  const SecretId = escrowSecretName(ctx.prefix, ref);
  const clearedLabel = `${CLEARED_LABEL_PREFIX}${state.sha256}`;
  const escrowedLabel = `${ESCROWED_LABEL_PREFIX}${state.sha256}`;
  // Add before remove: the version must never be left without a label of ours.
  if (!version.stages.includes(clearedLabel))
    await updateStage(
      ctx,
      'markCleared',
      { SecretId, VersionStage: clearedLabel, MoveToVersionId: versionId },
      options,
    );
  if (!version.stages.includes(escrowedLabel)) return;
  try {
    await updateStage(
      ctx,
      'markCleared',
      { SecretId, VersionStage: escrowedLabel, RemoveFromVersionId: versionId },
      options,
    );
  } catch (error) {
    // A concurrent markCleared may have removed it first; that is the state we wanted.
    const again = (await listVersions(ctx, ref, options))?.find((v) => v.versionId === versionId);
    if (again?.stages.includes(clearedLabel) && !again.stages.includes(escrowedLabel)) return;
    throw error;
  }
}

async function readLedger(
  ctx: SecretsContext,
  ref: ServerRef,
  options?: CallOptions,
): Promise<EscrowLedger | undefined> {
  const versions = await listVersions(ctx, ref, options);
  if (versions === undefined) return undefined;
  const infos = versions.map(escrowState).filter((v): v is EscrowVersionInfo => v !== undefined);
  infos.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''));
  return {
    ref: { projectId: ref.projectId, region: ref.region, serverId: ref.serverId },
    versions: infos,
  };
}

/**
 * Watch leases as a tag on the server's secret, so renewing one writes no secret version. A
 * server that has not posted has no secret yet: it gets one without a value (it would get one
 * at escrow anyway), to which putRecord then adds the first version.
 */
function watchStore(ctx: SecretsContext): WatchStore {
  return {
    async read(ref, options) {
      try {
        const d = await ctx.client.send(
          new DescribeSecretCommand({ SecretId: escrowSecretName(ctx.prefix, ref) }),
          callOptions(options),
        );
        return parseWatchLease(d.Tags?.find((t) => t.Key === WATCH_TAG)?.Value);
      } catch (error) {
        if (awsErrorName(error) === 'ResourceNotFoundException') return undefined;
        throw storeError('watch', error);
      }
    },
    async write(ref, lease, options) {
      const name = escrowSecretName(ctx.prefix, ref);
      const tag = { Key: WATCH_TAG, Value: encodeWatchLease(lease) };
      const tagSecret = () =>
        ctx.client.send(new TagResourceCommand({ SecretId: name, Tags: [tag] }), callOptions(options));
      try {
        await tagSecret();
        return;
      } catch (error) {
        if (awsErrorName(error) !== 'ResourceNotFoundException') throw storeError('watch', error);
      }
      try {
        await ctx.client.send(
          new CreateSecretCommand({
            Name: name,
            Description: DESCRIPTION,
            KmsKeyId: ctx.kmsKeyId,
            Tags: [...ctx.tags, tag],
          }),
          callOptions(options),
        );
      } catch (error) {
        if (awsErrorName(error) !== 'ResourceExistsException') throw storeError('watch', error);
        await tagSecret().catch((e: unknown) => {
          throw storeError('watch', e);
        });
      }
    },
  };
}

export function createSecretsManagerEscrowStore(config: SecretsManagerStoreOptions = {}): EscrowStore {
  const ctx: SecretsContext = {
    client: config.client ?? new SecretsManagerClient(config.clientConfig ?? {}),
    prefix: config.prefix ?? DEFAULT_SECRET_PREFIX,
    kmsKeyId: config.kmsKeyId,
    tags: Object.entries(config.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
  };
  return {
    kind: STORE,
    put: (record, options) => putRecord(ctx, record, options),
    read: (ref, versionId, options) => readRecord(ctx, ref, versionId, options),
    markCleared: (ref, versionId, options) => markVersionCleared(ctx, ref, versionId, options),
    ledger: (ref, options) => readLedger(ctx, ref, options),
    watches: watchStore(ctx),
  };
}
