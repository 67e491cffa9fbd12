/**
 * The real wires the pipeline tests run over: the Huawei emulator over HTTP (compressed
 * time), the signed BMS client on the emulator's clock, and the Secrets Manager fake behind
 * the real AWS SDK client. Every log line of the pipeline and the clients is captured.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type RunningEmulator, startEmulator } from '../../../emulator/index.ts';
import type { EmulatorOptions } from '../../../emulator/types.ts';
import {
  type SecretsManagerFake,
  startSecretsManagerFake,
} from '../../../harness/fakes/secrets-manager-fake.ts';
import type { EscrowStore } from '../../../lib/escrow/escrow-store.ts';
import { createSecretsManagerEscrowStore } from '../../../lib/escrow/secrets-manager-store.ts';
import { staticCredentialProvider } from '../../../lib/huawei/credentials.ts';
import { createHuaweiClients, type HuaweiClients } from '../../../lib/huawei/huawei-clients.ts';
import { parseHuaweiConfig } from '../../../lib/huawei/huawei-config.ts';
import { clientEnv } from '../../../lib/local/emulator-env.ts';
import { createLogger, type Logger } from '../../../lib/observability/logger.ts';
import type { Outcome } from '../../../lib/pipeline/outcome.ts';
import { parsePipelineConfig } from '../../../lib/pipeline/pipeline-config.ts';
import { processDepsFrom } from '../../../lib/pipeline/process-deps.ts';
import { type ProcessDeps, processServer } from '../../../lib/pipeline/process-server.ts';
import type { WorkItem } from '../../../lib/queue/work-item.ts';

export interface PipelineStack {
  emu: RunningEmulator;
  sm: SecretsManagerFake;
  smClient: SecretsManagerClient;
  store: EscrowStore;
  huawei: HuaweiClients;
  logger: Logger;
  /** Every line any logger of the stack wrote. */
  logLines: string[];
  deps(overrides?: Partial<ProcessDeps>, env?: Record<string, string>): ProcessDeps;
  item(serverId: string, extra?: Partial<WorkItem>): WorkItem;
  /** Processes until an outcome other than not-ready, sleeping on the emulator clock in between. */
  runUntilSettled(item: WorkItem, deps?: ProcessDeps, maxRounds?: number): Promise<Settled>;
  close(): Promise<void>;
}

export interface Settled {
  final: Outcome;
  outcomes: Outcome[];
  item: WorkItem;
}

export async function startPipelineStack(options: EmulatorOptions = {}): Promise<PipelineStack> {
  const emu = await startEmulator({ timeScale: 1000, ...options });
  const sm = await startSecretsManagerFake();
  const logLines: string[] = [];
  const sink = { write: (line: string) => logLines.push(line) };
  const logger = createLogger({ level: 'debug', sink, now: () => emu.clock.now() });
  const smClient = new SecretsManagerClient({ endpoint: sm.endpoint, ...sm.clientConfig, maxAttempts: 1 });
  const store = createSecretsManagerEscrowStore({ client: smClient });
  const huawei = createHuaweiClients(
    parseHuaweiConfig({
      ...clientEnv(emu),
    }),
    {
      credentials: staticCredentialProvider({ accessKey: emu.accessKey, secretKey: emu.secretKey }),
      clock: emu.clock,
      logger,
    },
  );

  const deps = (overrides: Partial<ProcessDeps> = {}, env: Record<string, string> = {}): ProcessDeps => ({
    // No launch watch unless a test asks for one (ESCROW_POST_CLEAR_WATCH_SECONDS): an item that
    // finds a record it did not see posted watches until launch + 1 h in production
    // (process-server.ts postedInThisLaunch), which the tests of other behaviour would wait out.
    ...processDepsFrom(parsePipelineConfig({ ESCROW_POST_CLEAR_WATCH_SECONDS: '0', ...env }), {
      bmsFor: () => huawei.bms,
      rateBudgetFor: () => huawei.rateLimiter,
      store,
      clock: emu.clock,
      logger,
    }),
    ...overrides,
  });

  const item = (serverId: string, extra: Partial<WorkItem> = {}): WorkItem => ({
    v: 1,
    projectId: emu.projectId,
    region: emu.region,
    serverId,
    firstSeenAt: new Date(emu.clock.now()).toISOString(),
    attempt: 0,
    source: 'direct',
    ...extra,
  });

  const runUntilSettled = async (start: WorkItem, d = deps(), maxRounds = 80): Promise<Settled> => {
    const outcomes: Outcome[] = [];
    let current = start;
    for (let round = 0; round < maxRounds; round++) {
      const { outcome, item: next } = await processServer(current, d);
      outcomes.push(outcome);
      if (outcome.kind !== 'not-ready') return { final: outcome, outcomes, item: next };
      await emu.clock.sleep(outcome.retryAfterSeconds * 1000);
      current = { ...next, attempt: next.attempt + 1, source: 'requeue' };
    }
    throw new Error(`not settled after ${maxRounds} rounds: ${JSON.stringify(outcomes.slice(-3))}`);
  };

  return {
    emu,
    sm,
    smClient,
    store,
    huawei,
    logger,
    logLines,
    deps,
    item,
    runUntilSettled,
    async close() {
      await huawei.close();
      smClient.destroy();
      await sm.close();
      await emu.close();
    },
  };
}
