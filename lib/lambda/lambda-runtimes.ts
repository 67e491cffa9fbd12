/**
 * Entry of the two Lambda composition roots: each handler module calls one of these at load,
 * so a misconfigured deployment fails at init naming the variable, and the runtime itself is
 * built on the first invocation and kept for the warm instance.
 */
import type { Env } from '../config/env-parsers.ts';
import { createIntakeRuntime, type IntakeRuntime, parseIntakeEnvConfig } from '../intake/intake-runtime.ts';
import { createWorkerRuntime, parseWorkerConfig, type WorkerRuntime } from '../worker/worker-runtime.ts';
import { type LazyRuntime, lazyRuntime } from './handler-middleware.ts';

export function intakeLambdaRuntime(env: Env = process.env): LazyRuntime<IntakeRuntime> {
  const parsed = parseIntakeEnvConfig(env);
  return lazyRuntime((e) => createIntakeRuntime(e, parsed));
}

export function workerLambdaRuntime(env: Env = process.env): LazyRuntime<WorkerRuntime> {
  const { pipeline, queues } = parseWorkerConfig(env);
  return lazyRuntime((e) => createWorkerRuntime(e, { config: pipeline, queueConfig: queues }));
}
