/**
 * Child process for a handler's first invocation in a fresh process:
 *   node first-invocation.ts <handler bundle> <case file>
 * The case file ({env, event}) is applied to process.env before the import, as Lambda sets a
 * function's environment before loading it (the worker parses its configuration at load).
 * Prints one JSON line {importMs, invokeMs, totalMs, rssMiB, response} (or {error}) and exits,
 * so that keep-alive sockets cannot hold the process open.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export interface InvocationCase {
  env: Record<string, string>;
  event: unknown;
}

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

// The parts of a Lambda context Middy reads (timeoutEarlyInMillis needs the remaining time).
const context = {
  functionName: 'bench',
  awsRequestId: 'bench-first-invocation',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
};

const [bundle, caseFile] = process.argv.slice(2);
if (!bundle || !caseFile) throw new Error('usage: node first-invocation.ts <handler bundle> <case file>');
try {
  const invocation = JSON.parse(readFileSync(caseFile, 'utf8')) as InvocationCase;
  Object.assign(process.env, invocation.env);
  const start = performance.now();
  const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: Handler };
  const imported = performance.now();
  const response = await handler(invocation.event, context);
  const done = performance.now();
  const rssMiB = process.memoryUsage.rss() / 1024 / 1024;
  process.stdout.write(
    `${JSON.stringify({ importMs: imported - start, invokeMs: done - imported, totalMs: done - start, rssMiB, response })}\n`,
  );
  process.exit(0);
} catch (error) {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.stdout.write(`${JSON.stringify({ error: message.split('\n')[0] })}\n`);
  process.exit(1);
}
