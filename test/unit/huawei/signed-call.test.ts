import { describe, expect, it } from 'vitest';
import {
  errorFromResponse,
  errorKindFor,
  parseErrorBody,
  parseJsonBody,
  parseRetryAfterMs,
} from '../../../lib/huawei/signed-call.ts';

describe('Huawei error responses', () => {
  it('reads both error body shapes and the gateway request id', () => {
    expect(parseErrorBody('{"error":{"code":"BMS.0040","message":"The server does not exist."}}')).toEqual({
      code: 'BMS.0040',
      message: 'The server does not exist.',
      requestId: undefined,
    });
    expect(parseErrorBody('{"error_code":"APIGW.0308","error_msg":"throttled","request_id":"r1"}')).toEqual({
      code: 'APIGW.0308',
      message: 'throttled',
      requestId: 'r1',
    });
    expect(parseErrorBody('<html>bad gateway</html>')).toEqual({});
    expect(parseErrorBody('null')).toEqual({});
  });

  it.each([
    [401, undefined, 'auth'],
    [403, 'BMS.0288', 'auth'],
    [429, 'APIGW.0308', 'throttled'],
    [400, 'APIGW.0308', 'throttled'],
    [404, undefined, 'not-found'],
    [400, 'BMS.0040', 'not-found'],
    [400, 'BMS.0001', 'client'],
    [409, 'BMS.0605', 'client'],
    [500, 'BMS.9999', 'server'],
    [503, 'APIGW.0613', 'server'],
  ] as const)('classifies HTTP %i %s as %s', (status, code, kind) => {
    expect(errorKindFor(status, code)).toBe(kind);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfterMs('3')).toBe(3000);
    expect(parseRetryAfterMs(undefined)).toBeUndefined();
    expect(parseRetryAfterMs('soon')).toBeUndefined();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
  });

  it('prefers the X-Request-Id header and keeps the message for non-sensitive calls only', () => {
    const response = {
      status: 403,
      headers: { 'x-request-id': 'hdr-id', 'retry-after': '2' },
      body: '{"error_code":"APIGW.0302","error_msg":"not authorized","request_id":"body-id"}',
    };
    const plain = errorFromResponse('server.get', response, false);
    expect(plain).toMatchObject({
      kind: 'auth',
      status: 403,
      code: 'APIGW.0302',
      requestId: 'hdr-id',
      retryAfterMs: 2000,
    });
    expect(plain.message).toBe(
      'server.get failed, HTTP 403, APIGW.0302, "not authorized", request id hdr-id',
    );
    const sensitive = errorFromResponse('password.get', response, true);
    expect(sensitive.message).toBe('password.get failed, HTTP 403, APIGW.0302, request id hdr-id');
  });

  it('never quotes a malformed 2xx body, which could be a password', () => {
    const secretish = `{"password":"${'A'.repeat(40)}`;
    const error = (() => {
      try {
        parseJsonBody('password.get', { status: 200, headers: {}, body: secretish });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toMatchObject({ name: 'HuaweiApiError', kind: 'server', status: 200 });
    expect(JSON.stringify({ m: error?.message, c: String(error?.cause) })).not.toContain('AAAA');
  });
});
