import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { signRequest } from '../../../lib/huawei/signer.ts';
import { fixturePath } from '../../helpers/fixtures.ts';

interface Vector {
  name: string;
  ak: string;
  sk: string;
  securityToken: string | null;
  projectId: string | null;
  date: string;
  method: string;
  url: string;
  headersIn: Record<string, string>;
  body: string | null;
  expected: { authorization: string; canonicalRequest?: string; stringToSign?: string };
}

const { vectors } = JSON.parse(readFileSync(fixturePath('conformance/huawei-sign-vectors.json'), 'utf8')) as {
  vectors: Vector[];
};

describe('SDK-HMAC-SHA256 signer against the shared conformance vectors', () => {
  it('has vectors to check', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(10);
  });

  for (const v of vectors) {
    it(`reproduces ${v.name}`, () => {
      const signed = signRequest(
        {
          method: v.method,
          url: new URL(v.url),
          headers: v.headersIn,
          body: v.body ?? undefined,
          projectId: v.projectId ?? undefined,
          date: v.date,
        },
        { accessKey: v.ak, secretKey: v.sk, securityToken: v.securityToken ?? undefined },
      );
      if (v.expected.canonicalRequest) expect(signed.canonicalRequest).toBe(v.expected.canonicalRequest);
      if (v.expected.stringToSign) expect(signed.stringToSign).toBe(v.expected.stringToSign);
      expect(signed.headers['Authorization']).toBe(v.expected.authorization);
    });
  }
});
