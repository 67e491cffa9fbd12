/**
 * STUB — worker CPU time per server. To be filled in by the lead once the pipeline worker
 * exists: process a fleet of N servers against the emulator (loopback), read
 * process.cpuUsage() before and after, and report user+system CPU ms per server next to a
 * baseline measured in the same run. Until then it reports 'pending' so run.ts shows the gap.
 */
import { type BenchSection, runStandalone } from './report.ts';

export async function runWorkerCpuBench(): Promise<BenchSection> {
  return {
    id: 'worker-cpu',
    title: 'Worker CPU time per server',
    status: 'pending',
    notes: ['not implemented yet: bench/worker-cpu.ts is a stub awaiting the pipeline worker'],
    tables: [],
    data: {},
  };
}

if (import.meta.main) await runStandalone(runWorkerCpuBench);
