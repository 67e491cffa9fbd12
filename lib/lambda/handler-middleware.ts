/**
 * What every Lambda handler in functions/ shares, as Middy middleware: the runtime is built
 * (once per warm instance) before the handler runs and handed over on the context, every log
 * line of the invocation carries `awsRequestId` and `coldStart`, and metrics are flushed
 * whether the handler returns or throws.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Env } from '../config/env-parsers.ts';
import { type Logger, setInvocationFields } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';

export interface HandlerRuntime {
  logger: Logger;
  metrics: Metrics;
}

export type RuntimeContext<R> = Context & { runtime: R };

/**
 * A runtime built once per warm instance; a failed build is retried on the next invocation.
 * `setFactory` replaces how it is built (tests) and forgets the current one.
 */
export interface LazyRuntime<R> {
  get(env?: Env): Promise<R>;
  setFactory(next: ((env: Env) => Promise<R>) | undefined): void;
}

export function lazyRuntime<R>(defaultFactory: (env: Env) => Promise<R>): LazyRuntime<R> {
  let factory = defaultFactory;
  let runtime: Promise<R> | undefined;
  return {
    get(env = process.env) {
      if (!runtime) {
        const pending = factory(env);
        runtime = pending;
        pending.catch(() => {
          if (runtime === pending) runtime = undefined;
        });
      }
      return runtime;
    },
    setFactory(next) {
      factory = next ?? defaultFactory;
      runtime = undefined;
    },
  };
}

let coldStart = true;

/** The runtime the middleware put on this invocation's context. */
export function runtimeOf<R>(context: Context, _runtime: LazyRuntime<R>): R {
  return (context as RuntimeContext<R>).runtime;
}

export function runtimeMiddleware<R extends HandlerRuntime>(runtime: LazyRuntime<R>): MiddlewareObj {
  const finish = (request: { context: Context }): void => {
    (request.context as Partial<RuntimeContext<R>>).runtime?.metrics.flush();
    setInvocationFields(undefined);
  };
  return {
    name: 'runtime',
    before: async (request) => {
      const cold = coldStart;
      coldStart = false;
      setInvocationFields({ awsRequestId: request.context.awsRequestId, coldStart: cold });
      const rt = await runtime.get();
      (request.context as RuntimeContext<R>).runtime = rt;
      // As Powertools' captureColdStartMetric: one count per instance, by function.
      if (cold)
        rt.metrics.add('ColdStart', 'Count', 1, { function: request.context.functionName ?? 'unknown' });
    },
    after: finish,
    onError: finish,
  };
}
