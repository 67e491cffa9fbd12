/**
 * Child process for time-to-first-request:
 *   node first-request.ts <client bundle> <url> <headers as JSON>
 * The bundle exports `send(url, headers): Promise<number>` (the status). Import and request
 * are timed separately so that a client's load cost is not hidden inside its first call.
 */
import { pathToFileURL } from 'node:url';

interface ClientBundle {
  send(url: string, headers: Record<string, string>): Promise<number>;
}

const [target, url, headersJson = '{}'] = process.argv.slice(2);
if (!target || !url) throw new Error('usage: node first-request.ts <client bundle> <url> [headers JSON]');
try {
  const headers = JSON.parse(headersJson) as Record<string, string>;
  const start = performance.now();
  const client = (await import(pathToFileURL(target).href)) as ClientBundle;
  const imported = performance.now();
  const status = await client.send(url, headers);
  const done = performance.now();
  process.stdout.write(
    `${JSON.stringify({ importMs: imported - start, requestMs: done - imported, totalMs: done - start, status })}\n`,
  );
  // Keep-alive sockets would otherwise hold the process open for seconds.
  process.exit(0);
} catch (error) {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.stdout.write(`${JSON.stringify({ error: message.split('\n')[0] })}\n`);
  process.exit(1);
}
