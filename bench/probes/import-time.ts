/**
 * Child process for fresh-process import timing: `node import-time.ts <module file>`.
 * Prints one JSON line {importMs, rssMiB} (or {error}) and exits, so that sockets or
 * timers a module opens at import cannot keep the process alive.
 */
import { pathToFileURL } from 'node:url';

const target = process.argv[2];
if (!target) throw new Error('usage: node import-time.ts <module file>');
try {
  const start = performance.now();
  await import(pathToFileURL(target).href);
  const importMs = performance.now() - start;
  const rssMiB = process.memoryUsage.rss() / 1024 / 1024;
  process.stdout.write(`${JSON.stringify({ importMs, rssMiB })}\n`);
  process.exit(0);
} catch (error) {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.stdout.write(`${JSON.stringify({ error: message.split('\n')[0] })}\n`);
  process.exit(1);
}
