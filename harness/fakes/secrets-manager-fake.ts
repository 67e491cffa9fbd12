/**
 * A small AWS Secrets Manager on loopback, speaking the awsJson1_1 protocol the real SDK
 * client uses (POST /, X-Amz-Target: secretsmanager.<Op>). No Secrets Manager emulator is
 * installable, so this implements the semantics the escrow relies on, faithfully:
 * ClientRequestToken idempotency, staging labels (each on one version, AWSCURRENT pushing
 * AWSPREVIOUS), versions kept, and unlabeled versions purged at once (AWS may delete them
 * whenever it likes, so a store that lets a version lose all labels is caught here).
 *
 * Test-only. It keeps secret values in memory and hands them out through `secrets()`, so
 * never snapshot that output.
 *
 * Usage: const sm = await startSecretsManagerFake();
 *   new SecretsManagerClient({ endpoint: sm.endpoint, ...sm.clientConfig })  …  await sm.close();
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSecretVersion {
  versionId: string;
  secretString: string;
  stages: string[];
  createdDate: number;
}

export interface FakeSecret {
  name: string;
  arn: string;
  kmsKeyId?: string | undefined;
  description?: string | undefined;
  tags: Record<string, string>;
  createdDate: number;
  versions: FakeSecretVersion[];
}

export interface FakeError {
  status: number;
  type: string;
  message?: string;
}

export interface FakeCall {
  operation: string;
  requestId: string;
  /** The secret the call named, if any. Never the value. */
  secretId?: string | undefined;
  /** The error type returned, if the call failed. */
  error?: string | undefined;
}

export interface SecretsManagerFaults {
  /** Fail the next `count` mutating calls (CreateSecret, PutSecretValue, UpdateSecretVersionStage, TagResource). */
  failNextWrites(count: number, error?: FakeError): void;
  /** Fail the next `count` calls of one operation (or '*' for any). */
  failNext(operation: string, count: number, error?: FakeError): void;
  /**
   * Return a tampered SecretString from the next `count` GetSecretValue calls. The default
   * changes an escrow record's ciphertext and recomputes its sha256, so it still parses and only
   * the caller's compare can tell.
   */
  tamperNextReads(count: number, transform?: (secretString: string) => string): void;
  /** Added delay before every response, in real milliseconds. */
  latencyMs: number;
  /** Back to no faults. */
  reset(): void;
}

export interface SecretsManagerFake {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** Region and dummy credentials to spread into a SecretsManagerClient config. */
  clientConfig: {
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  faults: SecretsManagerFaults;
  /** A deep copy of every secret with its versions (includes secret values: test-only). */
  secrets(): FakeSecret[];
  /** Operations received, in order, without bodies. */
  calls(): FakeCall[];
  close(): Promise<void>;
}

class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

const WRITES = new Set(['CreateSecret', 'PutSecretValue', 'UpdateSecretVersionStage', 'TagResource']);
const ACCOUNT = '000000000000';
const MAX_LABELS_PER_SECRET = 20;
const DEFAULT_FAULT: FakeError = { status: 500, type: 'InternalServiceError', message: 'injected fault' };

type Body = Record<string, unknown>;

export async function startSecretsManagerFake(
  options: { region?: string } = {},
): Promise<SecretsManagerFake> {
  const region = options.region ?? 'us-east-1';
  const store = new Map<string, FakeSecret>();
  const callLog: FakeCall[] = [];
  let failures: Array<{ operation: string; remaining: number; error: FakeError }> = [];
  let tampers: Array<{ remaining: number; transform: (s: string) => string }> = [];

  const faults: SecretsManagerFaults = {
    latencyMs: 0,
    failNextWrites(count, error = DEFAULT_FAULT) {
      failures.push({ operation: 'writes', remaining: count, error });
    },
    failNext(operation, count, error = DEFAULT_FAULT) {
      failures.push({ operation, remaining: count, error });
    },
    tamperNextReads(count, transform = tamperEscrowRecord) {
      tampers.push({ remaining: count, transform });
    },
    reset() {
      failures = [];
      tampers = [];
      faults.latencyMs = 0;
    },
  };

  const takeFailure = (operation: string): FakeError | undefined => {
    const f = failures.find(
      (x) =>
        x.remaining > 0 &&
        (x.operation === operation ||
          x.operation === '*' ||
          (x.operation === 'writes' && WRITES.has(operation))),
    );
    if (!f) return undefined;
    f.remaining--;
    return f.error;
  };

  const takeTamper = (): ((s: string) => string) | undefined => {
    const t = tampers.find((x) => x.remaining > 0);
    if (!t) return undefined;
    t.remaining--;
    return t.transform;
  };

  const find = (secretId: unknown): FakeSecret => {
    if (typeof secretId !== 'string' || secretId === '')
      throw new ApiError('InvalidParameterException', 'SecretId is required.');
    for (const s of store.values()) if (s.name === secretId || s.arn === secretId) return s;
    throw new ApiError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  };

  const now = (): number => Date.now() / 1000;

  /** Attaches `label` to `target`, taking it off any other version; AWSCURRENT pushes AWSPREVIOUS. */
  const attach = (secret: FakeSecret, target: FakeSecretVersion, label: string): void => {
    if (target.stages.includes(label)) return;
    const holder = secret.versions.find((v) => v.stages.includes(label));
    if (holder) holder.stages = holder.stages.filter((s) => s !== label);
    target.stages.push(label);
    if (label === 'AWSCURRENT' && holder) attach(secret, holder, 'AWSPREVIOUS');
  };

  const labelCount = (secret: FakeSecret): number => new Set(secret.versions.flatMap((v) => v.stages)).size;

  const purgeUnlabeled = (secret: FakeSecret): void => {
    secret.versions = secret.versions.filter((v) => v.stages.length > 0);
  };

  const checkToken = (token: unknown): string => {
    const t = token === undefined ? randomUUID() : token;
    if (typeof t !== 'string' || t.length < 32 || t.length > 64)
      throw new ApiError('InvalidParameterException', 'ClientRequestToken must be 32 to 64 characters.');
    return t;
  };

  const checkValue = (value: unknown): string => {
    if (typeof value !== 'string' || value.length === 0)
      throw new ApiError('InvalidParameterException', 'SecretString is required.');
    if (value.length > 65536) throw new ApiError('InvalidParameterException', 'SecretString is too large.');
    return value;
  };

  /** Token idempotency: same token and value is a no-op, same token and another value fails. */
  const existingVersion = (
    secret: FakeSecret,
    token: string,
    value: string,
  ): FakeSecretVersion | undefined => {
    const v = secret.versions.find((x) => x.versionId === token);
    if (v && v.secretString !== value)
      throw new ApiError(
        'ResourceExistsException',
        "You can't modify an existing version, you can only create a new version.",
      );
    return v;
  };

  const tagsFrom = (list: unknown): Record<string, string> => {
    const out: Record<string, string> = {};
    if (list === undefined) return out;
    if (!Array.isArray(list)) throw new ApiError('InvalidParameterException', 'Tags must be a list.');
    for (const t of list as Array<{ Key?: unknown; Value?: unknown }>) {
      if (typeof t.Key !== 'string' || typeof t.Value !== 'string')
        throw new ApiError('InvalidParameterException', 'Each tag needs a Key and a Value.');
      out[t.Key] = t.Value;
    }
    return out;
  };

  const tagList = (tags: Record<string, string>): Array<{ Key: string; Value: string }> =>
    Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

  const ops: Record<string, (body: Body) => Body> = {
    CreateSecret(b) {
      const name = b['Name'];
      if (typeof name !== 'string' || !/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(name))
        throw new ApiError('InvalidParameterException', 'Name is invalid.');
      const value = b['SecretString'] === undefined ? undefined : checkValue(b['SecretString']);
      const token = checkToken(b['ClientRequestToken']);
      const existing = store.get(name);
      if (existing) {
        // The documented idempotency: a retried CreateSecret with the same token and value is ignored.
        if (value !== undefined && existingVersion(existing, token, value))
          return { ARN: existing.arn, Name: name, VersionId: token };
        throw new ApiError(
          'ResourceExistsException',
          `The operation failed because the secret ${name} already exists.`,
        );
      }
      const secret: FakeSecret = {
        name,
        arn: `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:${name}-${randomBytes(3).toString('hex')}`,
        kmsKeyId: typeof b['KmsKeyId'] === 'string' ? b['KmsKeyId'] : undefined,
        description: typeof b['Description'] === 'string' ? b['Description'] : undefined,
        tags: tagsFrom(b['Tags']),
        createdDate: now(),
        versions: [],
      };
      if (value !== undefined)
        secret.versions.push({
          versionId: token,
          secretString: value,
          stages: ['AWSCURRENT'],
          createdDate: now(),
        });
      store.set(name, secret);
      return { ARN: secret.arn, Name: name, ...(value === undefined ? {} : { VersionId: token }) };
    },

    PutSecretValue(b) {
      const secret = find(b['SecretId']);
      const value = checkValue(b['SecretString']);
      const token = checkToken(b['ClientRequestToken']);
      const existing = existingVersion(secret, token, value);
      if (existing)
        return { ARN: secret.arn, Name: secret.name, VersionId: token, VersionStages: [...existing.stages] };
      const stages = b['VersionStages'] === undefined ? ['AWSCURRENT'] : (b['VersionStages'] as unknown);
      if (
        !Array.isArray(stages) ||
        stages.some((s) => typeof s !== 'string' || s.length < 1 || s.length > 256)
      )
        throw new ApiError(
          'InvalidParameterException',
          'VersionStages must be a list of 1 to 256 character labels.',
        );
      const version: FakeSecretVersion = {
        versionId: token,
        secretString: value,
        stages: [],
        createdDate: now(),
      };
      const newLabels = (stages as string[]).filter(
        (s) => !secret.versions.some((v) => v.stages.includes(s)),
      );
      if (labelCount(secret) + newLabels.length > MAX_LABELS_PER_SECRET)
        throw new ApiError('LimitExceededException', 'A secret can have at most 20 staging labels.');
      secret.versions.push(version);
      if (secret.versions.length === 1 && !stages.includes('AWSCURRENT'))
        attach(secret, version, 'AWSCURRENT');
      for (const s of stages as string[]) attach(secret, version, s);
      purgeUnlabeled(secret);
      return { ARN: secret.arn, Name: secret.name, VersionId: token, VersionStages: [...version.stages] };
    },

    GetSecretValue(b) {
      const secret = find(b['SecretId']);
      const versionId = b['VersionId'];
      const stage = b['VersionStage'];
      let version: FakeSecretVersion | undefined;
      if (typeof versionId === 'string') {
        version = secret.versions.find((v) => v.versionId === versionId);
        if (version && typeof stage === 'string' && !version.stages.includes(stage)) version = undefined;
      } else {
        const wanted = typeof stage === 'string' ? stage : 'AWSCURRENT';
        version = secret.versions.find((v) => v.stages.includes(wanted));
      }
      if (!version)
        throw new ApiError(
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret value for the requested version or staging label.",
        );
      const tamper = takeTamper();
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        SecretString: tamper ? tamper(version.secretString) : version.secretString,
        VersionStages: [...version.stages],
        CreatedDate: version.createdDate,
      };
    },

    DescribeSecret(b) {
      const secret = find(b['SecretId']);
      const versionIdsToStages: Record<string, string[]> = {};
      for (const v of secret.versions) versionIdsToStages[v.versionId] = [...v.stages];
      return {
        ARN: secret.arn,
        Name: secret.name,
        ...(secret.description === undefined ? {} : { Description: secret.description }),
        ...(secret.kmsKeyId === undefined ? {} : { KmsKeyId: secret.kmsKeyId }),
        Tags: tagList(secret.tags),
        VersionIdsToStages: versionIdsToStages,
        CreatedDate: secret.createdDate,
      };
    },

    UpdateSecretVersionStage(b) {
      const secret = find(b['SecretId']);
      const label = b['VersionStage'];
      if (typeof label !== 'string' || label.length < 1 || label.length > 256)
        throw new ApiError('InvalidParameterException', 'VersionStage is required.');
      const moveTo = b['MoveToVersionId'];
      const removeFrom = b['RemoveFromVersionId'];
      const holder = secret.versions.find((v) => v.stages.includes(label));
      if (removeFrom !== undefined && holder?.versionId !== removeFrom)
        throw new ApiError(
          'InvalidParameterException',
          'The staging label is not attached to RemoveFromVersionId.',
        );
      if (typeof moveTo === 'string') {
        const target = secret.versions.find((v) => v.versionId === moveTo);
        if (!target)
          throw new ApiError('ResourceNotFoundException', "Secrets Manager can't find the version.");
        if (holder && holder !== target && removeFrom === undefined)
          throw new ApiError(
            'InvalidParameterException',
            `The staging label ${label} is attached to another version; specify RemoveFromVersionId.`,
          );
        if (!holder && labelCount(secret) + 1 > MAX_LABELS_PER_SECRET)
          throw new ApiError('LimitExceededException', 'A secret can have at most 20 staging labels.');
        attach(secret, target, label);
      } else if (holder) {
        if (label === 'AWSCURRENT')
          throw new ApiError('InvalidParameterException', 'You can only move AWSCURRENT, not remove it.');
        holder.stages = holder.stages.filter((s) => s !== label);
      }
      purgeUnlabeled(secret);
      return { ARN: secret.arn, Name: secret.name };
    },

    TagResource(b) {
      const secret = find(b['SecretId']);
      Object.assign(secret.tags, tagsFrom(b['Tags']));
      return {};
    },

    ListSecretVersionIds(b) {
      const secret = find(b['SecretId']);
      const { page, next } = paginate(secret.versions, b);
      return {
        ARN: secret.arn,
        Name: secret.name,
        Versions: page.map((v) => ({
          VersionId: v.versionId,
          VersionStages: [...v.stages],
          CreatedDate: v.createdDate,
        })),
        ...(next === undefined ? {} : { NextToken: next }),
      };
    },

    ListSecrets(b) {
      const filters = (Array.isArray(b['Filters']) ? b['Filters'] : []) as Array<{
        Key?: string;
        Values?: string[];
      }>;
      const matches = [...store.values()].filter((s) =>
        filters.every((f) => {
          const values = f.Values ?? [];
          if (f.Key === 'name') return values.some((v) => s.name.startsWith(v));
          if (f.Key === 'tag-key') return values.some((v) => v in s.tags);
          if (f.Key === 'tag-value') return values.some((v) => Object.values(s.tags).includes(v));
          if (f.Key === 'all') return values.some((v) => s.name.includes(v));
          throw new ApiError('InvalidParameterException', `Unsupported filter key ${String(f.Key)}.`);
        }),
      );
      const { page, next } = paginate(matches, b);
      return {
        SecretList: page.map((s) => ({
          ARN: s.arn,
          Name: s.name,
          Tags: tagList(s.tags),
          ...(s.kmsKeyId === undefined ? {} : { KmsKeyId: s.kmsKeyId }),
          SecretVersionsToStages: Object.fromEntries(s.versions.map((v) => [v.versionId, [...v.stages]])),
          CreatedDate: s.createdDate,
        })),
        ...(next === undefined ? {} : { NextToken: next }),
      };
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : target;
    const call: FakeCall = { operation, requestId };
    callLog.push(call);
    if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));

    const send = (status: number, body: Body): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'content-length': Buffer.byteLength(text),
        'x-amzn-requestid': requestId,
      });
      res.end(text);
    };
    const fail = (status: number, type: string, message: string): void => {
      call.error = type;
      send(status, { __type: type, message });
    };

    try {
      if (req.method !== 'POST' || req.url !== '/') {
        fail(404, 'UnknownOperationException', 'POST / expected');
        return;
      }
      const op = ops[operation];
      if (!op) {
        fail(400, 'UnknownOperationException', `Unsupported operation ${operation}`);
        return;
      }
      let body: Body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Body;
      } catch {
        fail(400, 'SerializationException', 'Request body is not JSON');
        return;
      }
      if (typeof body['SecretId'] === 'string') call.secretId = body['SecretId'];
      else if (typeof body['Name'] === 'string') call.secretId = body['Name'];
      const injected = takeFailure(operation);
      if (injected) {
        fail(injected.status, injected.type, injected.message ?? 'injected fault');
        return;
      }
      send(200, op(body));
    } catch (error) {
      if (error instanceof ApiError) fail(error.status, error.type, error.message);
      else fail(500, 'InternalServiceError', 'fake failed');
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    clientConfig: {
      region,
      credentials: { accessKeyId: 'AKIDFAKEFAKEFAKE', secretAccessKey: 'fake-secret-key' },
    },
    faults,
    secrets: () => structuredClone([...store.values()]),
    calls: () => callLog.map((c) => ({ ...c })),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function paginate<T>(items: T[], b: Body): { page: T[]; next: string | undefined } {
  const max = typeof b['MaxResults'] === 'number' ? Math.min(Math.max(b['MaxResults'], 1), 100) : 100;
  const start = typeof b['NextToken'] === 'string' ? Number.parseInt(b['NextToken'], 10) || 0 : 0;
  const page = items.slice(start, start + max);
  return { page, next: start + max < items.length ? String(start + max) : undefined };
}

/**
 * Default tamper: a different ciphertext of the same shape, with a matching sha256, so the value
 * still parses as an escrow record and only a ciphertext compare can catch it. Values that are
 * not escrow records get one character changed.
 */
export function tamperEscrowRecord(secretString: string): string {
  try {
    const record = JSON.parse(secretString) as { ciphertext?: unknown; sha256?: unknown };
    if (typeof record.ciphertext === 'string' && record.ciphertext.length > 0) {
      const c = record.ciphertext;
      const first = c[0] === 'A' ? 'B' : 'A';
      const tampered = first + c.slice(1);
      record.ciphertext = tampered;
      record.sha256 = createHash('sha256').update(tampered, 'utf8').digest('hex');
      return JSON.stringify(record);
    }
  } catch {
    // not JSON: fall through
  }
  return secretString.length > 0 ? `${secretString[0] === 'x' ? 'y' : 'x'}${secretString.slice(1)}` : 'x';
}
