import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { lazyRuntime, runtimeMiddleware, runtimeOf } from '../../../lib/lambda/handler-middleware.ts';
import { createLogger } from '../../../lib/observability/logger.ts';
import { createMetrics } from '../../../lib/observability/metrics.ts';

function fixture() {
  const logLines: string[] = [];
  const metricLines: string[] = [];
  const runtime = {
    logger: createLogger({ sink: { write: (l: string) => logLines.push(l) } }),
    metrics: createMetrics({ sink: { write: (l: string) => metricLines.push(l) } }),
  };
  let builds = 0;
  const lazy = lazyRuntime(async () => {
    builds++;
    return runtime;
  });
  return { logLines, metricLines, lazy, builds: () => builds };
}

const context = (awsRequestId: string) => ({ awsRequestId }) as Context;

describe('the handler middleware', () => {
  it('builds the runtime once, tags every log line with the request id and cold start, flushes metrics', async () => {
    const f = fixture();
    const handler = middy<{ fail?: boolean }, string>()
      .use(runtimeMiddleware(f.lazy))
      .handler(async (event, ctx) => {
        const rt = runtimeOf(ctx, f.lazy);
        rt.logger.child({ step: 'inner' }).info('working');
        rt.metrics.add('Things', 'Count', 1);
        if (event.fail) throw new Error('boom');
        return 'ok';
      });

    expect(await handler({}, context('req-1'))).toBe('ok');
    await expect(handler({ fail: true }, context('req-2'))).rejects.toThrow('boom');

    expect(f.builds()).toBe(1);
    const logs = f.logLines.map((l) => JSON.parse(l));
    expect(logs).toMatchObject([
      { awsRequestId: 'req-1', coldStart: true, step: 'inner' },
      { awsRequestId: 'req-2', coldStart: false, step: 'inner' },
    ]);
    // Flushed on success and on error; the first invocation also counts the cold start.
    const metricNames = f.metricLines.map((l) => Object.keys(JSON.parse(l)).filter((k) => /^[A-Z]/.test(k)));
    expect(metricNames).toEqual([['ColdStart'], ['Things'], ['Things']]);
    // Outside an invocation, lines carry no request id.
    createLogger({ sink: { write: (l: string) => f.logLines.push(l) } }).info('after');
    expect(JSON.parse(f.logLines.at(-1) ?? '{}')).not.toHaveProperty('awsRequestId');
  });

  it('retries a failed runtime build on the next invocation', async () => {
    let attempts = 0;
    const lazy = lazyRuntime(async () => {
      attempts++;
      if (attempts === 1) throw new Error('init failed');
      return { logger: createLogger({ level: 'silent' }), metrics: createMetrics() };
    });
    const handler = middy()
      .use(runtimeMiddleware(lazy))
      .handler(async () => 'ok');
    await expect(handler({}, context('a'))).rejects.toThrow('init failed');
    expect(await handler({}, context('b'))).toBe('ok');
  });
});
