/**
 * Imports only run downhill. Scans every TypeScript file's import specifiers (static, dynamic
 * and re-exports) and fails on an edge that crosses a line in docs/architecture.md:
 *
 *   test → harness, bench, scripts → cli, functions, emulator → lib
 *   inside lib: lambda, local → worker, intake → pipeline → queue, escrow, huawei, …
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SCANNED = ['lib', 'functions', 'cli', 'emulator', 'scripts', 'bench', 'harness', 'test'];

interface ImportEdge {
  from: string;
  to: string;
}

interface Rule {
  why: string;
  from: RegExp;
  forbidden: RegExp;
  /** Targets allowed even though `forbidden` matches. */
  except?: RegExp;
}

const RULES: Rule[] = [
  {
    why: 'lib is the bottom layer: it never imports the programs built on it',
    from: /^lib\//,
    forbidden: /^(functions|cli|emulator|scripts|bench|harness|test)\//,
  },
  {
    why: 'lib/queue is transport only',
    from: /^lib\/queue\//,
    forbidden: /^lib\/(pipeline|worker|intake|local|lambda)\//,
  },
  {
    why: 'the pipeline knows the work item, not the queues that carry it',
    from: /^lib\/pipeline\//,
    forbidden: /^lib\/(queue|worker|intake|local|lambda)\//,
    except: /^lib\/queue\/work-item\.ts$/,
  },
  {
    why: 'the worker and the intake do not know who runs them',
    from: /^lib\/(worker|intake)\//,
    forbidden: /^lib\/(local|lambda)\//,
  },
  {
    why: 'the intake enqueues; it does not run the worker',
    from: /^lib\/intake\//,
    forbidden: /^lib\/worker\//,
  },
  {
    why: 'below the runtimes nothing imports the pipeline, the worker or the intake',
    from: /^lib\/(huawei|escrow|observability|config|queue)\/|^lib\/clock\.ts$/,
    forbidden: /^lib\/(pipeline|worker|intake|local|lambda)\//,
  },
  {
    why: 'handlers, the CLI and the emulator stand side by side on lib',
    from: /^(functions|cli|emulator)\//,
    forbidden: /^(functions|scripts|bench|harness|test)\//,
  },
  {
    why: 'the emulator is a separate program: it shares lib, never the CLI or handlers',
    from: /^emulator\//,
    forbidden: /^(cli|functions)\//,
  },
  {
    why: 'Lambda handlers do not import the CLI or the emulator',
    from: /^functions\//,
    forbidden: /^(cli|emulator)\//,
  },
  {
    why: 'tooling (scripts, benchmarks, the chaos harness) never imports tests',
    from: /^(scripts|bench|harness)\//,
    forbidden: /^test\//,
  },
];

function violations(edges: readonly ImportEdge[]): string[] {
  const out: string[] = [];
  for (const { from, to } of edges)
    for (const rule of RULES)
      if (rule.from.test(from) && rule.forbidden.test(to) && !rule.except?.test(to))
        out.push(`${from} → ${to}: ${rule.why}`);
  return out;
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'fixtures' || entry.name.startsWith('.')) continue;
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.ts$/.test(entry.name)) out.push(path);
  }
  return out;
}

function importEdges(): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of SCANNED.flatMap(sourceFiles)) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const [, spec] of text.matchAll(SPECIFIER)) {
      if (!spec) continue;
      const target = spec.startsWith('#lib/')
        ? `lib/${spec.slice('#lib/'.length)}`
        : spec.startsWith('.')
          ? relative(ROOT, resolve(ROOT, dirname(file), spec))
              .split('\\')
              .join('/')
          : undefined;
      if (target !== undefined) edges.push({ from: file, to: target });
    }
  }
  return edges;
}

describe('import boundaries', () => {
  const edges = importEdges();

  it('scans the tree (a scanner that finds nothing proves nothing)', () => {
    expect(edges.length).toBeGreaterThan(500);
    expect(edges).toContainEqual({ from: 'functions/worker.ts', to: 'lib/worker/batch-worker.ts' });
    // Dynamic imports are edges too.
    expect(edges).toContainEqual({ from: 'cli/commands/serve.ts', to: 'emulator/index.ts' });
  });

  it('has no import that runs uphill', () => {
    expect(violations(edges)).toEqual([]);
  });

  it('catches each kind of crossing', () => {
    const crossings: ImportEdge[] = [
      { from: 'lib/local/local-stack.ts', to: 'emulator/index.ts' },
      { from: 'lib/queue/sqs-queue.ts', to: 'lib/pipeline/outcome.ts' },
      { from: 'lib/pipeline/process-server.ts', to: 'lib/queue/sqs-queue.ts' },
      { from: 'lib/pipeline/process-server.ts', to: 'lib/worker/batch-worker.ts' },
      { from: 'bench/fleet-run.ts', to: 'test/helpers/fixtures.ts' },
      { from: 'scripts/chaos.ts', to: 'test/chaos/scenario.ts' },
      { from: 'functions/webhook.ts', to: 'cli/output.ts' },
      { from: 'lib/intake/intake-runtime.ts', to: 'lib/lambda/handler-middleware.ts' },
    ];
    for (const edge of crossings) expect(violations([edge]), `${edge.from} → ${edge.to}`).not.toEqual([]);
    expect(violations([{ from: 'lib/pipeline/decide.ts', to: 'lib/queue/work-item.ts' }])).toEqual([]);
  });
});
