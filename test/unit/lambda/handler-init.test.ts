import { describe, expect, it } from 'vitest';

/** Each handler module parses its whole configuration when it is loaded (Lambda's init phase). */
describe('a misconfigured deployment fails at init and names the variable', () => {
  it('worker: no work queue', async () => {
    for (const name of ['WORK_QUEUE_URL', 'WORK_DLQ_URL', 'AWS_LAMBDA_LOG_LEVEL']) delete process.env[name];
    await expect(import('../../../functions/worker.ts')).rejects.toThrow(/WORK_QUEUE_URL is not set/);
  });

  it('webhook: an escrow setting the sweep would only read later', async () => {
    process.env['WORK_QUEUE_URL'] = 'http://127.0.0.1:9/000000000000/q';
    process.env['HUAWEICLOUD_SDK_REGION'] = 'cn-north-4';
    process.env['ESCROW_STORE'] = 'dropbox';
    await expect(import('../../../functions/webhook.ts')).rejects.toThrow(/ESCROW_STORE must be one of/);
  });

  it('direct intake: no Huawei credentials', async () => {
    process.env['ESCROW_STORE'] = 'file';
    for (const name of ['HUAWEICLOUD_SDK_AK', 'HUAWEICLOUD_SDK_SK', 'HUAWEICLOUD_CREDENTIALS_SECRET_ID'])
      delete process.env[name];
    await expect(import('../../../functions/direct-intake.ts')).rejects.toThrow(
      /HUAWEICLOUD_SDK_AK is not set/,
    );
  });
});
