/**
 * What a benchmark hands back, and how it is printed. Each bench module exports one
 * `run*(): Promise<BenchSection>`; run.ts prints them all and writes them to JSON, and
 * `runStandalone` lets each module be run alone with `node bench/<name>.ts`.
 */
import { cpus, totalmem } from 'node:os';
import { formatTable, type Table } from './stats.ts';

export interface BenchSection {
  id: string;
  title: string;
  /** 'pending' marks a benchmark whose subject does not exist yet. */
  status: 'ok' | 'pending' | 'failed';
  /** Caveats a reader needs to interpret the figures (substitutions, fallbacks). */
  notes: string[];
  tables: Table[];
  /** Raw figures (milliseconds, bytes, ops/s) for the README and for comparison across runs. */
  data: Record<string, unknown>;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function formatMachine(m: MachineInfo): string {
  return `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}`;
}

export function formatSection(section: BenchSection): string {
  const head = `== ${section.title}${section.status === 'ok' ? '' : ` [${section.status}]`} ==`;
  const notes = section.notes.map((n) => `note: ${n}`).join('\n');
  return `${[head, ...section.tables.map(formatTable), notes].filter(Boolean).join('\n\n')}\n`;
}

/** Turns a thrown error into a section, so one broken benchmark does not hide the others. */
export function failedSection(id: string, title: string, error: unknown): BenchSection {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { id, title, status: 'failed', notes: [message.split('\n')[0]!], tables: [], data: {} };
}

/** Body of `if (import.meta.main)` in each bench module. */
export async function runStandalone(run: () => Promise<BenchSection>): Promise<void> {
  process.stdout.write(`${formatMachine(machineInfo())}\n\n`);
  const section = await run();
  process.stdout.write(formatSection(section));
  if (section.status === 'failed') process.exitCode = 1;
}
