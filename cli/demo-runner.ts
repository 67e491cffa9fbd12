/**
 * The demo (`npm start`, `bms-password-escrow demo`): the bundled emulator with a small
 * fleet under compressed time, the local stack subscribed to its SMN topic, and servers
 * created through the signed BMS create API, so every server travels the production path
 * CTS → SMN → webhook → queue → worker → escrow → clear. It reports what the emulator itself
 * recorded (its true server records and call log), not what the hook believes.
 */
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningEmulator } from '../emulator/index.ts';
import { staticCredentialProvider } from '../lib/huawei/credentials.ts';
import { ENV_BMS_ENDPOINT, ENV_IAM_ENDPOINT, ENV_REGION } from '../lib/huawei/endpoints.ts';
import { createHuaweiClients } from '../lib/huawei/huawei-clients.ts';
import { ENV_PROJECT_ID, parseHuaweiConfig } from '../lib/huawei/huawei-config.ts';
import { parseLocalConfig } from '../lib/local/local-config.ts';
import { type LocalStack, startLocalStack } from '../lib/local/local-stack.ts';
import type { ServerState, ServerStatus } from '../lib/local/status-board.ts';
import { createLogger } from '../lib/observability/logger.ts';
import { exposureBounds, formatExposure } from '../lib/pipeline/exposure-bounds.ts';
import { createProgress, formatTable, terminalSafe } from './output.ts';

export interface DemoOptions {
  windows: number;
  linux: number;
  /** Emulated seconds per real second. */
  timeScale: number;
  seed: number;
  /** Real seconds before the demo gives up. */
  timeoutSeconds: number;
  /** Default: a fresh directory under the OS temp dir. */
  stateDir?: string | undefined;
  json: boolean;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  signal?: AbortSignal | undefined;
}

export const DEMO_DEFAULTS = { windows: 8, linux: 4, timeScale: 45, seed: 20_251_128, timeoutSeconds: 180 };

export interface DemoServerSummary {
  serverId: string;
  name: string;
  os: 'Windows' | 'Linux';
  /** What the hook did: cleared, skipped, failed, or still waiting/escrowed at the timeout. */
  outcome: ServerState | 'unseen';
  reason?: string | undefined;
  /** From the emulator's true record. */
  passwordPosted: boolean;
  recordCleared: boolean;
  /** Emulated minutes from Cloudbase-Init's post to our DELETE (the emulator's truth). */
  exposureMinutes: number | null;
  /**
   * The same window as the hook knows it: at least from its finding GET, at most from its last
   * empty GET, to its DELETE (seconds; max null when nothing bounds the post from below).
   */
  hookExposure: { minSeconds: number; maxSeconds: number | null } | null;
  /** The guest sent a `posted` notification. */
  notified: boolean;
  /** Password GETs and DELETEs the emulator saw for this server. */
  passwordCalls: number;
  /** Escrowed versions on disk for this server. */
  escrowFiles: number;
}

export interface DemoSummary {
  ok: boolean;
  timedOut: boolean;
  timeScale: number;
  realSeconds: number;
  stateDir: string;
  escrowDir: string;
  logFile: string;
  servers: DemoServerSummary[];
}

const DONE: ReadonlySet<string> = new Set(['cleared', 'skipped', 'failed']);

function color(stream: DemoOptions['stdout'], code: string, text: string): string {
  return stream.isTTY ? `\x1b[${code}m${text}\x1b[0m` : text;
}

const STATE_COLOR: Record<ServerState, string> = {
  waiting: '33',
  escrowed: '36',
  cleared: '32',
  skipped: '90',
  failed: '31',
};

async function countEscrowFiles(dir: string): Promise<number> {
  try {
    return (await readdir(dir)).filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).length;
  } catch {
    return 0;
  }
}

async function createDemoFleet(emulator: RunningEmulator, windows: number, linux: number): Promise<void> {
  const env = {
    [ENV_REGION]: emulator.region,
    [ENV_PROJECT_ID]: emulator.projectId,
    [ENV_BMS_ENDPOINT]: emulator.url,
    [ENV_IAM_ENDPOINT]: emulator.url,
  };
  const clients = createHuaweiClients(parseHuaweiConfig(env), {
    credentials: staticCredentialProvider({ accessKey: emulator.accessKey, secretKey: emulator.secretKey }),
    clock: emulator.clock,
  });
  try {
    const create = (name: string, imageRef: string, count: number, keyName?: string) =>
      clients.bms.createServers(emulator.projectId, {
        server: {
          name,
          imageRef,
          flavorRef: 'physical.s4.3xlarge',
          count,
          ...(keyName && { key_name: keyName }),
          metadata: { os_type: imageRef.startsWith('windows') ? 'Windows' : 'Linux' },
          extendparam: { chargingMode: 'prePaid', periodType: 'month', periodNum: 1, isAutoPay: 'true' },
        },
      });
    if (windows > 0) await create('demo-win', 'windows-server-2022-datacenter', windows, 'KeyPair-demo');
    if (linux > 0) await create('demo-linux', 'ubuntu-22.04-server', linux);
  } finally {
    await clients.close();
  }
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const started = Date.now();
  const out = options.json ? options.stderr : options.stdout;
  const say = (line: string): void => void out.write(`${line}\n`);
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'bms-password-escrow-demo-')));
  const logFile = join(stateDir, 'service.log');
  const { createWriteStream } = await import('node:fs');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(stateDir, { recursive: true });
  const logStream = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
  const logger = createLogger({ sink: logStream, fields: { component: 'demo' } });

  const { startEmulator } = await import('../emulator/index.ts');
  const emulator = await startEmulator({
    timeScale: options.timeScale,
    seed: options.seed,
    switches: { distribution: 'realistic' },
    logger,
  });
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({
      config: { ...parseLocalConfig({}), port: 0, stateDir, idlePollMs: 50, sweepIntervalSeconds: 0 },
      // A clean environment: the demo never touches the caller's cloud credentials or settings.
      env: { ESCROW_STORE: 'file' },
      emulator,
      logger,
      sweepOnStart: false,
    });
    say(
      `Emulator   ${emulator.url}  (region ${emulator.region}, time x${options.timeScale}: 1 s real = ${(options.timeScale / 60).toFixed(1)} emulated min)`,
    );
    say(`Webhook    ${stack.webhookUrl}  (subscribed to the emulator's SMN topic)`);
    say(`Status     ${stack.url}/`);
    say(
      `Creating ${options.windows} Windows and ${options.linux} Linux bare metal servers through the signed BMS API…`,
    );

    const t0 = emulator.clock.now();
    const minutes = (): string => ((emulator.clock.now() - t0) / 60_000).toFixed(1).padStart(5);
    const labelOf = (id: string): string => {
      const truth = emulator.admin.server(id);
      // Names come from the (emulated) cloud; our own colour codes are added after.
      return terminalSafe(truth ? `${truth.name} (${truth.osType})` : id);
    };
    const total = options.windows + options.linux;
    const progress = createProgress(out);
    const exposureNote = (id: string): string => {
      const truth = emulator.admin.server(id);
      const posted = truth?.postHistory.find((h) => h.event === 'posted');
      const cleared = truth?.postHistory.find((h) => h.event === 'cleared');
      if (!posted || !cleared) return '';
      return ` (exposed ${((cleared.at - posted.at) / 60_000).toFixed(2)} min after the post)`;
    };
    stack.board.onChange((status: ServerStatus, previous) => {
      if (previous && previous.state === status.state && previous.reason === status.reason) return;
      const state = color(out, STATE_COLOR[status.state], status.state.padEnd(8));
      const reason = status.reason ? `  ${terminalSafe(status.reason)}` : '';
      const note = status.state === 'cleared' ? exposureNote(status.serverId) : '';
      progress.done();
      say(`[${minutes()} min] ${labelOf(status.serverId).padEnd(28)} ${state}${reason}${note}`);
      const finished = stack!.board.list().filter((s) => DONE.has(s.state)).length;
      progress.update(finished, total, 'servers finished');
    });

    await createDemoFleet(emulator, options.windows, options.linux);
    const ids = emulator.admin.servers().map((s) => s.id);

    const deadline = started + options.timeoutSeconds * 1000;
    let timedOut = false;
    while (!ids.every((id) => DONE.has(stack!.board.get(id)?.state ?? ''))) {
      if (options.signal?.aborted || Date.now() > deadline) {
        timedOut = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }

    progress.done();
    const calls = emulator.admin.calls().passwordEvents;
    const servers: DemoServerSummary[] = [];
    for (const id of ids) {
      const truth = emulator.admin.server(id)!;
      const status = stack.board.get(id);
      const posted = truth.postHistory.find((h) => h.event === 'posted');
      const cleared = truth.postHistory.find((h) => h.event === 'cleared');
      servers.push({
        serverId: id,
        name: truth.name,
        os: truth.osType,
        outcome: status?.state ?? 'unseen',
        reason: status?.reason,
        passwordPosted: posted !== undefined,
        recordCleared: cleared !== undefined && truth.ciphertext === null,
        exposureMinutes:
          posted && cleared ? Math.round(((cleared.at - posted.at) / 60_000) * 100) / 100 : null,
        hookExposure: hookExposureOf(status, emulator.clock.now()),
        notified: status?.postedHintAt !== undefined,
        passwordCalls: calls.filter((c) => c.serverId === id).length,
        escrowFiles: await countEscrowFiles(join(stack.escrowDir, emulator.projectId, id)),
      });
    }
    const ok =
      !timedOut &&
      servers.every((s) =>
        s.os === 'Windows'
          ? s.outcome === 'cleared' && s.recordCleared && s.escrowFiles >= 1
          : s.outcome === 'skipped' && s.passwordCalls === 0,
      );
    return {
      ok,
      timedOut,
      timeScale: options.timeScale,
      realSeconds: Math.round((Date.now() - started) / 100) / 10,
      stateDir,
      escrowDir: stack.escrowDir,
      logFile,
      servers,
    };
  } finally {
    await stack?.close(2000);
    await emulator.close();
    await new Promise<void>((r) => logStream.end(() => r()));
  }
}

function hookExposureOf(status: ServerStatus | undefined, nowMs: number): DemoServerSummary['hookExposure'] {
  const bounds = status?.state === 'cleared' ? exposureBounds(status, nowMs) : undefined;
  return bounds ? { minSeconds: bounds.minSeconds, maxSeconds: bounds.maxSeconds ?? null } : null;
}

/** The human summary: a table per server and where the escrow files are. */
export function formatDemoSummary(summary: DemoSummary): string {
  const rows = summary.servers.map((s) => [
    s.name,
    s.os,
    s.outcome + (s.outcome === 'skipped' || s.outcome === 'failed' ? ` (${s.reason ?? ''})` : ''),
    s.exposureMinutes === null ? '-' : s.exposureMinutes.toFixed(2),
    s.hookExposure === null
      ? '-'
      : formatExposure({
          ...s.hookExposure,
          maxSeconds: s.hookExposure.maxSeconds ?? undefined,
          open: false,
        }),
    s.notified ? 'yes' : '',
    s.passwordCalls,
    s.escrowFiles,
  ]);
  const windows = summary.servers.filter((s) => s.os === 'Windows');
  const exposures = windows.map((s) => s.exposureMinutes).filter((m): m is number => m !== null);
  const worst = exposures.length > 0 ? Math.max(...exposures).toFixed(2) : '-';
  const lines = [
    '',
    formatTable(
      [
        'Server',
        'OS',
        'Outcome',
        'Exposure (emulated min)',
        "Hook's bounds (emulated)",
        'Notified',
        'Password calls',
        'Escrowed versions',
      ],
      rows,
    ),
    '',
    `${windows.filter((s) => s.outcome === 'cleared').length}/${windows.length} Windows passwords escrowed, read back and cleared; longest exposure ${worst} emulated min.`,
    `Escrow files: ${summary.escrowDir}`,
    `Service log:  ${summary.logFile}`,
    `Took ${summary.realSeconds} s real time.${summary.timedOut ? ' TIMED OUT before every server finished.' : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}
