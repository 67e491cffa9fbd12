import { describe, expect, it } from 'vitest';
import { HuaweiApiError } from '../../../lib/huawei/errors.ts';
import { createLogger } from '../../../lib/observability/logger.ts';
import { createMetrics } from '../../../lib/observability/metrics.ts';
import { REDACTED, redactText, redactValue, registerSecret } from '../../../lib/observability/redact.ts';

function sink() {
  const lines: string[] = [];
  return { lines, write: (line: string) => lines.push(line) };
}

const CIPHERTEXT = `${'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwYWJjZGVm'.repeat(6)}==`;

describe('redaction', () => {
  it('replaces fields whose names can only hold secrets, at any depth', () => {
    const out = redactValue({
      serverId: 's1',
      password: 'x',
      nested: {
        ciphertext: 'y',
        SecretString: 'z',
        headers: { Authorization: 'SDK-HMAC-SHA256 …', 'X-Security-Token': 't' },
      },
      list: [{ sk: 'k' }],
      decrypt: true,
    }) as Record<string, unknown>;
    expect(out).toEqual({
      serverId: 's1',
      password: REDACTED,
      nested: {
        ciphertext: REDACTED,
        SecretString: REDACTED,
        headers: { Authorization: REDACTED, 'X-Security-Token': REDACTED },
      },
      list: [{ sk: REDACTED }],
      decrypt: true,
    });
  });

  it('scrubs registered secret values wherever they appear in text', () => {
    registerSecret('Plaintext-Pa55word');
    expect(redactText('oops: Plaintext-Pa55word leaked')).toBe(`oops: ${REDACTED} leaked`);
    expect(redactValue({ note: ['a', 'x Plaintext-Pa55word y'] })).toEqual({
      note: ['a', `x ${REDACTED} y`],
    });
  });

  it('scrubs anything shaped like an RSA ciphertext even when never registered', () => {
    expect(redactText(`body={"password":"${CIPHERTEXT}"}`)).not.toContain(CIPHERTEXT.slice(0, 40));
  });

  it('keeps the newest registered values when the registry is full', () => {
    for (let i = 0; i < 5000; i++) registerSecret(`filler-secret-${i}`);
    registerSecret('the-newest-secret');
    expect(redactText('the-newest-secret')).toBe(REDACTED);
  });

  it('serializes errors with their Huawei code, request id and cause chain, scrubbed', () => {
    registerSecret('SKVALUE-0000001');
    const error = new HuaweiApiError({
      kind: 'throttled',
      api: 'password.get',
      status: 429,
      code: 'APIGW.0308',
      requestId: 'req-1',
      cause: new Error('socket said SKVALUE-0000001'),
    });
    const out = redactValue({ error }) as { error: Record<string, unknown> };
    expect(out.error).toMatchObject({
      name: 'HuaweiApiError',
      status: 429,
      code: 'APIGW.0308',
      requestId: 'req-1',
    });
    expect(JSON.stringify(out)).not.toContain('SKVALUE-0000001');
    expect((out.error['cause'] as { message: string }).message).toContain(REDACTED);
  });
});

describe('logger', () => {
  it('writes one redacted JSON object per line, honouring the level and child fields', () => {
    const out = sink();
    const logger = createLogger({ level: 'info', sink: out, now: () => 0 }).child({ component: 'worker' });
    logger.debug('hidden');
    logger.info('escrowed', { serverId: 's1', ciphertext: CIPHERTEXT });
    expect(out.lines).toHaveLength(1);
    const record = JSON.parse(out.lines[0]!);
    expect(record).toMatchObject({
      level: 'INFO',
      message: 'escrowed',
      component: 'worker',
      serverId: 's1',
      ciphertext: REDACTED,
    });
    expect(record.timestamp).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('metrics', () => {
  it('flushes CloudWatch EMF blobs, one per metric and dimension set, then empties the buffer', () => {
    const out = sink();
    const metrics = createMetrics({ namespace: 'Test', service: 'svc', sink: out, now: () => 42 });
    metrics.add('ServerOutcome', 'Count', 1, { outcome: 'cleared' });
    metrics.add('ServerOutcome', 'Count', 1, { outcome: 'cleared' });
    metrics.add('FoundToClearedSeconds', 'Seconds', 3.5);
    metrics.flush();
    expect(out.lines).toHaveLength(2);
    const first = JSON.parse(out.lines[0]!);
    expect(first).toEqual({
      _aws: {
        Timestamp: 42,
        CloudWatchMetrics: [
          {
            Namespace: 'Test',
            Dimensions: [['service', 'outcome']],
            Metrics: [{ Name: 'ServerOutcome', Unit: 'Count' }],
          },
        ],
      },
      service: 'svc',
      outcome: 'cleared',
      ServerOutcome: [1, 1],
    });
    metrics.flush();
    expect(out.lines).toHaveLength(2);
  });

  it('splits a metric past the EMF limit of 100 values per document', () => {
    const out = sink();
    const metrics = createMetrics({ namespace: 'Test', service: 'svc', sink: out, now: () => 42 });
    for (let i = 0; i < 250; i++) metrics.add('HuaweiApiCall', 'Count', 1, { api: 'password.get' });
    metrics.flush();
    const counts = out.lines.map((l) => (JSON.parse(l) as { HuaweiApiCall: number[] }).HuaweiApiCall.length);
    expect(counts).toEqual([100, 100, 50]);
  });
});
