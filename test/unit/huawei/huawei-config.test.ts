import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/config/env-parsers.ts';
import { API_LIMITS_PER_MINUTE } from '../../../lib/huawei/api-names.ts';
import { envCredentialProvider, readEnvCredentials } from '../../../lib/huawei/credentials.ts';
import { defaultEndpoint } from '../../../lib/huawei/endpoints.ts';
import { parseHuaweiConfig } from '../../../lib/huawei/huawei-config.ts';

const base = { HUAWEICLOUD_SDK_REGION: 'cn-north-4' };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseHuaweiConfig', () => {
  it('derives the public endpoints and the documented defaults from the region', () => {
    const config = parseHuaweiConfig(base);
    expect(config.region).toBe('cn-north-4');
    expect(config.projectId).toBeUndefined();
    expect(config.endpoints.bms.href).toBe('https://bms.cn-north-4.myhuaweicloud.com/');
    expect(config.endpoints.iam.href).toBe('https://iam.cn-north-4.myhuaweicloud.com/');
    expect(config.rateLimitsPerMinute).toEqual(API_LIMITS_PER_MINUTE);
    expect(config).toMatchObject({
      connectTimeoutMs: 5000,
      timeoutMs: 15_000,
      maxAttempts: 4,
      rateLimitShare: 1,
    });
  });

  it('takes endpoint overrides, project id, rate limits, share, timeouts and attempts', () => {
    const config = parseHuaweiConfig({
      ...base,
      HUAWEICLOUD_SDK_PROJECT_ID: 'bbf1946d374b44a0a2a95533562ba954',
      HUAWEICLOUD_BMS_ENDPOINT: 'http://127.0.0.1:18080',
      HUAWEICLOUD_IAM_ENDPOINT: 'http://127.0.0.1:18080/',
      HUAWEICLOUD_RATE_LIMITS: 'password.get=40, password.delete=30',
      HUAWEICLOUD_RATE_LIMIT_SHARE: '4',
      HUAWEICLOUD_HTTP_CONNECT_TIMEOUT_MS: '1000',
      HUAWEICLOUD_HTTP_TIMEOUT_MS: '2000',
      HUAWEICLOUD_MAX_ATTEMPTS: '2',
    });
    expect(config.projectId).toBe('bbf1946d374b44a0a2a95533562ba954');
    expect(config.endpoints.bms.origin).toBe('http://127.0.0.1:18080');
    expect(config.endpoints.iam.origin).toBe('http://127.0.0.1:18080');
    expect(config.rateLimitsPerMinute['password.get']).toBe(10);
    expect(config.rateLimitsPerMinute['password.delete']).toBe(7.5);
    expect(config.rateLimitsPerMinute['job.get']).toBe(500);
    expect(config).toMatchObject({
      connectTimeoutMs: 1000,
      timeoutMs: 2000,
      maxAttempts: 2,
      rateLimitShare: 4,
    });
  });

  it.each([
    [{}, 'HUAWEICLOUD_SDK_REGION', /is not set; set it to your region id, e\.g\. cn-north-4/],
    [
      { HUAWEICLOUD_SDK_REGION: 'north' },
      'HUAWEICLOUD_SDK_REGION',
      /must be a region id such as cn-north-4.*got "north"/,
    ],
    [
      { ...base, HUAWEICLOUD_SDK_PROJECT_ID: '../x' },
      'HUAWEICLOUD_SDK_PROJECT_ID',
      /must be an IAM project id/,
    ],
    [
      { ...base, HUAWEICLOUD_BMS_ENDPOINT: 'ftp://x' },
      'HUAWEICLOUD_BMS_ENDPOINT',
      /must be an http\(s\) URL/,
    ],
    [
      { ...base, HUAWEICLOUD_IAM_ENDPOINT: 'http://h/v3' },
      'HUAWEICLOUD_IAM_ENDPOINT',
      /origin without a path/,
    ],
    [
      { ...base, HUAWEICLOUD_RATE_LIMITS: 'password.put=5' },
      'HUAWEICLOUD_RATE_LIMITS',
      /unknown API "password\.put"; known: password\.get/,
    ],
    [
      { ...base, HUAWEICLOUD_RATE_LIMITS: 'password.get=0' },
      'HUAWEICLOUD_RATE_LIMITS',
      /positive number.*"password\.get=0"/,
    ],
    [{ ...base, HUAWEICLOUD_RATE_LIMITS: 'password.get' }, 'HUAWEICLOUD_RATE_LIMITS', /key=value pairs/],
    [{ ...base, HUAWEICLOUD_RATE_LIMIT_SHARE: '0' }, 'HUAWEICLOUD_RATE_LIMIT_SHARE', /at least 1/],
    [
      { ...base, HUAWEICLOUD_HTTP_TIMEOUT_MS: 'soon' },
      'HUAWEICLOUD_HTTP_TIMEOUT_MS',
      /whole number, got "soon"/,
    ],
    [{ ...base, HUAWEICLOUD_MAX_ATTEMPTS: '0' }, 'HUAWEICLOUD_MAX_ATTEMPTS', /at least 1/],
  ])('explains a bad environment %#', (env, variable, message) => {
    const error = configError(() => parseHuaweiConfig(env));
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(variable)).toBe(true);
    expect(error.message).toMatch(message);
  });

  it('never carries credentials, so printing it cannot leak them', () => {
    const env = {
      ...base,
      HUAWEICLOUD_SDK_AK: 'AKEXAMPLE1234567890',
      HUAWEICLOUD_SDK_SK: 'SKEXAMPLEsecretsecret123',
    };
    const config = parseHuaweiConfig(env);
    const printed = `${JSON.stringify(config)} ${String(config)}`;
    expect(printed).not.toContain('AKEXAMPLE');
    expect(printed).not.toContain('SKEXAMPLE');
  });
});

describe('environment credentials', () => {
  it('reads AK, SK and an optional security token', async () => {
    const env = { HUAWEICLOUD_SDK_AK: 'AK123456789', HUAWEICLOUD_SDK_SK: 'SK123456789abc' };
    expect(readEnvCredentials(env)).toEqual({
      accessKey: 'AK123456789',
      secretKey: 'SK123456789abc',
      securityToken: undefined,
    });
    const withToken = await envCredentialProvider({
      ...env,
      HUAWEICLOUD_SDK_SECURITY_TOKEN: 'TOKEN-EXAMPLE-1',
    }).getCredentials();
    expect(withToken.securityToken).toBe('TOKEN-EXAMPLE-1');
  });

  it('names the missing variable and the fix', async () => {
    expect(configError(() => readEnvCredentials({})).message).toBe(
      'HUAWEICLOUD_SDK_AK is not set; export it, or run against the emulator: bms-password-escrow emulator --json',
    );
    await expect(
      envCredentialProvider({ HUAWEICLOUD_SDK_AK: 'AK123456789' }).getCredentials(),
    ).rejects.toMatchObject({
      name: 'ConfigError',
      variable: 'HUAWEICLOUD_SDK_SK',
      message: expect.stringMatching(
        /^HUAWEICLOUD_SDK_SK is not set; export it, or run against the emulator/,
      ),
    });
  });
});

describe('defaultEndpoint', () => {
  it('builds service.region.myhuaweicloud.com and refuses a non-region', () => {
    expect(defaultEndpoint('bms', 'ap-southeast-1').host).toBe('bms.ap-southeast-1.myhuaweicloud.com');
    expect(defaultEndpoint('iam', 'my-kualalumpur-1').host).toBe('iam.my-kualalumpur-1.myhuaweicloud.com');
    expect(() => defaultEndpoint('bms', 'evil.com/x')).toThrow(RangeError);
  });
});
