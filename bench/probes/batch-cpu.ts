/**
 * Child process for CPU time per server: `node batch-cpu.ts <driver bundle> <case file>`.
 * Runs the warm-up batch, then reads process.cpuUsage() (user + system, every thread of this
 * process) around each measured batch. The emulator and fauxqs run in the parent, so their
 * CPU is not counted here; time spent waiting on the network is not CPU time.
 * Prints one JSON line (BatchCpuResult, or {error}) last.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { BatchCase, BatchCpuResult, BatchDriver } from './batch-driver.ts';

const [bundle, caseFile] = process.argv.slice(2);
if (!bundle || !caseFile) throw new Error('usage: node batch-cpu.ts <driver bundle> <case file>');
try {
  const batchCase = JSON.parse(readFileSync(caseFile, 'utf8')) as BatchCase;
  Object.assign(process.env, batchCase.env);
  const { createDriver } = (await import(pathToFileURL(bundle).href)) as {
    createDriver(c: BatchCase): Promise<BatchDriver>;
  };
  const driver = await createDriver(batchCase);
  await driver.prepare(batchCase.warmup)();
  const result: BatchCpuResult = { cpuMs: [], wallMs: [], servers: 0, cleared: 0 };
  for (const batch of batchCase.batches) {
    const run = driver.prepare(batch);
    const wallStart = performance.now();
    const cpuStart = process.cpuUsage();
    result.cleared += await run();
    const cpu = process.cpuUsage(cpuStart);
    result.wallMs.push(performance.now() - wallStart);
    result.cpuMs.push((cpu.user + cpu.system) / 1000);
    result.servers += batch.length;
  }
  await driver.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (error) {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.stdout.write(`${JSON.stringify({ error: message.split('\n')[0] })}\n`);
  process.exit(1);
}
