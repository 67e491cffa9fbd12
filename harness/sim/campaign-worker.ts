/** A worker thread of the campaign: runs every `stride`-th seed and posts digests in small batches. */
import { parentPort, workerData } from 'node:worker_threads';
import { digest, type ScenarioDigest } from './campaign.ts';
import { runSimScenario } from './run-scenario.ts';

const { startSeed, stride, lastSeed } = workerData as { startSeed: number; stride: number; lastSeed: number };
let batch: ScenarioDigest[] = [];
for (let seed = startSeed; seed <= lastSeed; seed += stride) {
  batch.push(digest(await runSimScenario(seed)));
  if (batch.length >= 50) {
    parentPort!.postMessage(batch);
    batch = [];
  }
}
if (batch.length > 0) parentPort!.postMessage(batch);
