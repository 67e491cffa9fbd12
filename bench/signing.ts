/**
 * Signing throughput: our signRequest against the official SDK's AKSKSigner.sign on the
 * same two requests. Before timing, both must produce the same Authorization for a fixed
 * X-Sdk-Date, so the figures compare equal work.
 *
 * Both sides pay for parsing their input per call: ours builds the URL object from a
 * string (as the client does per request), the SDK parses its endpoint string and date.
 */
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import { signRequest } from '../lib/huawei/signer.ts';
import { type BenchSection, runStandalone } from './report.ts';
import { formatCount, formatRatio, measureOpsPerSecond, median } from './stats.ts';

// Throwaway values: nothing here is a real credential.
const AK = 'BENCHAKEXAMPLE000000';
const SK = 'BenchSecretKeyExample0000000000000000000';
const PROJECT = '0123456789abcdef0123456789abcdef';
const SERVER = '53206ed0-56de-4d6b-b7ee-ffc62ca26f43';
const DATE = '20250102T030405Z';
const ENDPOINT = 'https://bms.cn-north-4.myhuaweicloud.com';

interface SigningCase {
  name: string;
  path: string;
  query: Record<string, string>;
}

const CASES: SigningCase[] = [
  {
    name: 'GET os-server-password',
    path: `/v1/${PROJECT}/baremetalservers/${SERVER}/os-server-password`,
    query: {},
  },
  {
    name: 'GET servers/detail?query',
    path: `/v1/${PROJECT}/baremetalservers/detail`,
    query: { limit: '100', name: 'win-bms 01', status: 'ACTIVE', tags: 'escrow=pending' },
  },
];

const ROUNDS = 5;
const ROUND_MS = 300;
const WARMUP_MS = 300;
const MAX_OPS_PER_ROUND = 2_000_000;

function makeSigners(c: SigningCase, date: string | undefined) {
  const href = `${ENDPOINT}${c.path}${Object.keys(c.query).length ? `?${new URLSearchParams(c.query)}` : ''}`
    // URLSearchParams writes spaces as '+', which SDK-HMAC-SHA256 reads as a literal plus.
    .replaceAll('+', '%20');
  const baseHeaders = { 'Content-Type': 'application/json' };
  const ours = (): string =>
    signRequest(
      { method: 'GET', url: new URL(href), headers: baseHeaders, projectId: PROJECT, date },
      { accessKey: AK, secretKey: SK },
    ).headers['Authorization']!;

  const credential = new BasicCredentials().withAk(AK).withSk(SK);
  const sdkRequest = {
    method: 'GET',
    endpoint: `${ENDPOINT}${c.path}`,
    queryParams: c.query,
    // The SDK's BasicCredentials adds X-Project-Id before signing; here it is given directly.
    headers: { ...baseHeaders, 'X-Project-Id': PROJECT, ...(date ? { 'X-Sdk-Date': date } : {}) },
  };
  const official = (): string =>
    (AKSKSigner.sign(sdkRequest, credential) as Record<string, string>)['Authorization']!;
  return { ours, official };
}

export async function runSigningBench(): Promise<BenchSection> {
  const rows: string[][] = [];
  const data: Record<string, unknown> = {};
  for (const c of CASES) {
    const fixed = makeSigners(c, DATE);
    const ourAuth = fixed.ours();
    const sdkAuth = fixed.official();
    if (ourAuth !== sdkAuth) {
      throw new Error(`signers disagree on "${c.name}"; refusing to compare unequal work`);
    }
    // Timed with the current date, as in real use (the SDK then formats the date itself).
    const live = makeSigners(c, undefined);
    measureOpsPerSecond(live.ours, WARMUP_MS, MAX_OPS_PER_ROUND);
    measureOpsPerSecond(live.official, WARMUP_MS, MAX_OPS_PER_ROUND);
    const ourRounds: number[] = [];
    const sdkRounds: number[] = [];
    // Alternate rounds so that noise from other work on the machine hits both sides alike.
    for (let i = 0; i < ROUNDS; i++) {
      ourRounds.push(measureOpsPerSecond(live.ours, ROUND_MS, MAX_OPS_PER_ROUND));
      sdkRounds.push(measureOpsPerSecond(live.official, ROUND_MS, MAX_OPS_PER_ROUND));
    }
    const ourOps = median(ourRounds);
    const sdkOps = median(sdkRounds);
    rows.push([c.name, formatCount(ourOps), formatCount(sdkOps), formatRatio(ourOps, sdkOps)]);
    data[c.name] = {
      oursOpsPerSec: ourOps,
      sdkOpsPerSec: sdkOps,
      ratio: ourOps / sdkOps,
      ourRounds,
      sdkRounds,
    };
  }
  return {
    id: 'signing',
    title: 'Signing throughput (signRequest vs official AKSKSigner.sign)',
    status: 'ok',
    notes: [
      `median of ${ROUNDS} alternating ${ROUND_MS} ms rounds after ${WARMUP_MS} ms warm-up, single thread`,
      'both signers produced the same Authorization for a fixed X-Sdk-Date before timing',
    ],
    tables: [
      {
        title: 'ops/s (higher is better)',
        columns: ['request', 'ours', 'official SDK', 'ours/SDK'],
        rows,
      },
    ],
    data,
  };
}

if (import.meta.main) await runStandalone(runSigningBench);
