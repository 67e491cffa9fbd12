/** Pure decision logic of the intake, with plain values (no wire involved). */
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BmsApi, BmsJob, BmsServer } from '../../../lib/huawei/bms-types.ts';
import { HuaweiApiError } from '../../../lib/huawei/errors.ts';
import { resolveJob } from '../../../lib/intake/cts/job-resolver.ts';
import { enqueueServers } from '../../../lib/intake/enqueue-servers.ts';
import { handlePlatformEvent } from '../../../lib/intake/functiongraph-eventgrid-envelopes.ts';
import { idProblem } from '../../../lib/intake/ids.ts';
import { parseIntakeConfig } from '../../../lib/intake/intake-config.ts';
import { isIntakeError } from '../../../lib/intake/intake-errors.ts';
import { checkUrl, parseHostPattern } from '../../../lib/intake/smn/url-allowlist.ts';
import {
  certificateSignatureAlgorithm,
  readSignatureAlgorithmOid,
} from '../../../lib/intake/smn/x509-signature-algorithm.ts';
import { clearedSinceLastLaunch } from '../../../lib/intake/sweep.ts';
import {
  createTrace,
  PROJECT_ID,
  REGION,
  SIGNING_CERT_PEM,
  TOPIC_URN,
  testConfig,
  testRuntime,
} from './intake-test-kit.ts';

const S1 = '53206ed0-56de-4d6b-b7ee-ffc62ca26f43';
const S2 = 'bae51750-0089-41a1-9b18-5c777978ff6d';
const JOB = 'ff808081748b760c01748b7f80370003';

describe('url allow-list', () => {
  const defaults = ['smn.*.myhuaweicloud.com', 'smn.*.myhuaweicloud.eu'].map(parseHostPattern);
  it('accepts the documented SMN certificate host and nothing around it', () => {
    expect(
      checkUrl('https://smn.cn-north-4.myhuaweicloud.com/smn/SMN_cn-north-4_ab.pem', defaults, 'u').hostname,
    ).toBe('smn.cn-north-4.myhuaweicloud.com');
    for (const bad of [
      'http://smn.cn-north-4.myhuaweicloud.com/x',
      'https://smn.myhuaweicloud.com/x',
      'https://a.smn.x.myhuaweicloud.com/',
    ])
      expect(() => checkUrl(bad, defaults, 'u')).toThrow(/allow-list|https/);
  });
  it('admits loopback only when an entry names it with its port', () => {
    const local = [parseHostPattern('http://127.0.0.1:8080')];
    expect(checkUrl('http://127.0.0.1:8080/c.pem', local, 'u').port).toBe('8080');
    expect(() => checkUrl('http://127.0.0.1:8081/c.pem', local, 'u')).toThrow(/allow-list/);
    expect(() => checkUrl('http://[::1]:8080/c.pem', [parseHostPattern('*.0.0.1')], 'u')).toThrow();
  });
  it('refuses patterns too broad to mean anything', () => {
    expect(() => parseHostPattern('*.com')).toThrow(/too broad/);
    expect(() => parseIntakeConfig({ SMN_CERT_HOST_ALLOWLIST: 'smn.*.myhuaweicloud.com,*.com' })).toThrow(
      /SMN_CERT_HOST_ALLOWLIST/,
    );
  });
});

describe('certificate signature algorithm', () => {
  it('reads the OID of the outer signatureAlgorithm (sha256WithRSA for the fixture)', () => {
    const der = new X509Certificate(SIGNING_CERT_PEM).raw;
    expect(certificateSignatureAlgorithm(der)).toMatchObject({
      digest: 'sha256',
      name: 'sha256WithRSAEncryption',
    });
  });
  it('maps sha1WithRSA when the certificate says so', () => {
    const der = Buffer.from(new X509Certificate(SIGNING_CERT_PEM).raw);
    // The outer AlgorithmIdentifier follows tbsCertificate; patch its last OID byte 0x0b → 0x05.
    const oid = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]);
    const at = der.lastIndexOf(oid);
    der[at + oid.length - 1] = 0x05;
    expect(readSignatureAlgorithmOid(der)).toBe('1.2.840.113549.1.1.5');
    expect(certificateSignatureAlgorithm(der).digest).toBe('sha1');
  });
  it('refuses truncated DER with a format error', () => {
    const der = new X509Certificate(SIGNING_CERT_PEM).raw.subarray(0, 40);
    expect(() => readSignatureAlgorithmOid(der)).toThrow(/DER/);
  });
});

describe('ids', () => {
  it('names the problem without echoing the value', () => {
    expect(idProblem('server id', `${S1}/../x`)).toMatch(/path separator/);
    expect(idProblem('server id', 'x%2Fy')).toMatch(/percent/);
    expect(idProblem('project id', 'ab?c')).toMatch(/query/);
    expect(idProblem('region', 'cn north')).toMatch(/whitespace/);
    expect(idProblem('server id', 'secret-looking-value')).not.toContain('secret-looking-value');
    expect(idProblem('server id', S1)).toBeUndefined();
    expect(idProblem('region', 'cn-north-4')).toBeUndefined();
  });
});

function bmsWithJob(job: BmsJob | Error): BmsApi {
  const fail = () => Promise.reject(new Error('not used'));
  return {
    showJob: () => (job instanceof Error ? Promise.reject(job) : Promise.resolve(job)),
    showServer: fail,
    getPassword: fail,
    deletePassword: fail,
    listServers: () => ({ [Symbol.asyncIterator]: () => ({ next: fail }) }),
  };
}

describe('job resolution', () => {
  const subJob = (status: string, serverId?: string) => ({
    status,
    entities: serverId ? { server_id: serverId } : {},
  });
  it('returns the servers of a finished job', async () => {
    const job = {
      job_id: JOB,
      status: 'SUCCESS',
      entities: { sub_jobs: [subJob('SUCCESS', S1), subJob('SUCCESS', S2)] },
    };
    expect(await resolveJob(bmsWithJob(job), PROJECT_ID, JOB)).toMatchObject({
      serverIds: [S1, S2],
      pending: false,
    });
  });
  it('marks a running job with unnamed servers pending', async () => {
    const job = {
      job_id: JOB,
      status: 'RUNNING',
      entities: { sub_jobs_total: 3, sub_jobs: [subJob('RUNNING', S1), subJob('INIT')] },
    };
    expect(await resolveJob(bmsWithJob(job), PROJECT_ID, JOB)).toMatchObject({
      serverIds: [S1],
      pending: true,
    });
  });
  it('maps auth failures to a non-retryable refusal (never redelivered into an AK lockout)', async () => {
    const error = new HuaweiApiError({ kind: 'auth', api: 'job.get', status: 401 });
    const refused = await resolveJob(bmsWithJob(error), PROJECT_ID, JOB).catch((e: unknown) => e);
    expect(isIntakeError(refused, 'upstream_auth_failed')).toBe(true);
    expect((refused as { retryable: boolean }).retryable).toBe(false);
  });
  it('maps throttling to a retryable failure', async () => {
    const error = new HuaweiApiError({ kind: 'throttled', api: 'job.get', status: 429 });
    const refused = await resolveJob(bmsWithJob(error), PROJECT_ID, JOB).catch((e: unknown) => e);
    expect(isIntakeError(refused, 'upstream_unavailable')).toBe(true);
  });
});

describe('enqueueing', () => {
  it('a partial queue failure is retryable; the redelivery sends only what failed', async () => {
    const runtime = testRuntime({ config: testConfig() });
    runtime.queue.failNext = new Set([S2]);
    const request = {
      projectId: PROJECT_ID,
      region: REGION,
      serverIds: [S1, S2],
      source: 'smn' as const,
      origin: 'smn:m1',
    };
    const error = await enqueueServers(runtime, request).catch((e: unknown) => e);
    expect(isIntakeError(error, 'enqueue_failed')).toBe(true);
    expect(await enqueueServers(runtime, request)).toEqual({ enqueued: [S2], duplicates: [S1] });
    expect(runtime.queue.serverIds()).toEqual([S1, S2]);
  });
});

describe('platform events', () => {
  const runtime = () =>
    testRuntime({
      config: testConfig({ HUAWEICLOUD_SDK_REGION: REGION, HUAWEICLOUD_SDK_PROJECT_ID: PROJECT_ID }),
    });
  it('takes a FunctionGraph SMN trigger record', async () => {
    const rt = runtime();
    const event = {
      record: [
        {
          event_source: 'smn',
          smn: {
            topic_urn: TOPIC_URN,
            message_id: 'a5167',
            type: 'notification',
            message: JSON.stringify(createTrace([S1])),
          },
        },
      ],
    };
    expect(await handlePlatformEvent(rt, event)).toMatchObject({ kind: 'smn-trigger', accepted: 1 });
    expect(rt.queue.items[0]).toMatchObject({ serverId: S1, source: 'smn', region: REGION });
  });
  it('takes a FunctionGraph CTS trigger with object request/response and trace_status', async () => {
    const rt = runtime();
    const trace = {
      ...createTrace([S2]),
      trace_rating: undefined,
      trace_status: 'normal',
      response: { server_id: S2 },
      project_id: undefined,
    };
    expect(await handlePlatformEvent(rt, { cts: trace })).toMatchObject({ kind: 'cts-trigger', accepted: 1 });
    expect(rt.queue.items[0]).toMatchObject({ serverId: S2, source: 'cts', projectId: PROJECT_ID });
  });
  it('takes a CloudEvents batch and reports refused records without throwing', async () => {
    const rt = runtime();
    const ce = (id: string, data: unknown) => ({
      specversion: '1.0',
      id,
      source: 'HC.BMS',
      type: 'BMS:CloudTrace:ApiCall',
      data,
    });
    const result = await handlePlatformEvent(rt, [
      ce('e1', createTrace([S1])),
      ce('e2', createTrace(['../x'])),
      ce('e3', { ...createTrace([S2]), trace_name: 'deleteServer' }),
    ]);
    expect(result).toMatchObject({
      kind: 'cloudevents',
      accepted: 1,
      ignored: 1,
      rejected: [{ index: 1, code: 'invalid_id' }],
    });
    expect(rt.queue.serverIds()).toEqual([S1]);
  });
});

describe('sweep ledger', () => {
  const server = (launched: string, updated = launched): BmsServer => ({
    id: S1,
    name: 'w',
    status: 'ACTIVE',
    updated,
    'OS-SRV-USG:launched_at': launched,
  });
  const ledger = (createdAt: string, cleared: boolean) => ({
    ref: { projectId: PROJECT_ID, region: REGION, serverId: S1 },
    versions: [{ versionId: 'v1', sha256: 'a'.repeat(64), createdAt, cleared }],
  });
  it('skips a server cleared after its last launch', () => {
    expect(
      clearedSinceLastLaunch(server('2026-01-01T00:00:00.000000'), ledger('2026-01-01T01:00:00Z', true)),
    ).toBe(true);
  });
  it('re-checks a server relaunched (reinstalled) after the clear', () => {
    expect(
      clearedSinceLastLaunch(server('2026-01-02T00:00:00.000000'), ledger('2026-01-01T01:00:00Z', true)),
    ).toBe(false);
  });
  it('re-checks when the latest version is not cleared, or nothing was escrowed', () => {
    expect(
      clearedSinceLastLaunch(server('2026-01-01T00:00:00.000000'), ledger('2026-01-01T01:00:00Z', false)),
    ).toBe(false);
    expect(clearedSinceLastLaunch(server('2026-01-01T00:00:00.000000'), undefined)).toBe(false);
  });
  it('a version that names its launch is done for that launch only, whatever the clocks say (issue 9)', () => {
    const named = (launchedAt: string, postedInLaunch: boolean) => ({
      ref: { projectId: PROJECT_ID, region: REGION, serverId: S1 },
      versions: [
        // Escrowed by a machine whose clock ran 10 minutes ahead: after the reinstall, by its clock.
        {
          versionId: 'v1',
          sha256: 'a'.repeat(64),
          createdAt: '2026-01-01T00:12:00Z',
          cleared: true,
          launchedAt,
          postedInLaunch,
        },
      ],
    });
    const reinstalled = server('2026-01-01T00:05:00.000000');
    expect(clearedSinceLastLaunch(reinstalled, named('2026-01-01T00:00:00.000Z', true))).toBe(false);
    expect(clearedSinceLastLaunch(reinstalled, named('2026-01-01T00:05:00.000Z', true))).toBe(true);
    // Cleared in this launch, but not known to be its own post: the worker still watches.
    expect(clearedSinceLastLaunch(reinstalled, named('2026-01-01T00:05:00.000Z', false))).toBe(false);
  });
  it('falls back to `updated` only when launched_at is absent', () => {
    expect(
      clearedSinceLastLaunch(server('', '2026-01-02T00:00:00Z'), ledger('2026-01-01T01:00:00Z', true)),
    ).toBe(false);
    // A clear may bump `updated`; launched_at wins when present.
    expect(
      clearedSinceLastLaunch(
        server('2026-01-01T00:00:00.000000', '2026-01-01T02:00:00Z'),
        ledger('2026-01-01T01:00:00Z', true),
      ),
    ).toBe(true);
  });
});
