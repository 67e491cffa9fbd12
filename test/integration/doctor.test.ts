/**
 * `doctor` and `doctor --fix` over loopback against the emulator (SMN/CTS management APIs
 * included), a webhook that confirms (or ignores) SubscriptionConfirmations the emulator's SMN
 * publisher drives to it, fauxqs for SQS and the Secrets Manager fake. Each failure mode sees
 * its ✗ and its fix text, and exit 1; usage errors exit 2.
 */
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../../cli/command.ts';
import { type DoctorDeps, doctorCommand, runDoctor } from '../../cli/commands/doctor.ts';
import { main } from '../../cli/main.ts';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import {
  type SecretsManagerFake,
  startSecretsManagerFake,
} from '../../harness/fakes/secrets-manager-fake.ts';
import { systemClock } from '../../lib/clock.ts';
import { PROBE_SERVER_ID } from '../../lib/doctor/huawei-checks.ts';
import { staticCredentialProvider } from '../../lib/huawei/credentials.ts';
import { createHuaweiClients } from '../../lib/huawei/huawei-clients.ts';
import { parseHuaweiConfig } from '../../lib/huawei/huawei-config.ts';
import { IAM_ACTIONS } from '../../lib/huawei/iam-actions.ts';
import { clientEnv } from '../../lib/local/emulator-env.ts';
import { type SmnEndpoint, startSmnEndpoint } from '../helpers/smn-endpoint.ts';
import { startWebhookServer, testConfig, testRuntime } from '../unit/intake/intake-test-kit.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function io(env: Record<string, string | undefined>) {
  const out = { stdout: '', stderr: '' };
  const sink = (key: 'stdout' | 'stderr') =>
    ({
      write(text: string) {
        out[key] += text;
        return true;
      },
    }) as never;
  return {
    out,
    io: { stdout: sink('stdout'), stderr: sink('stderr'), env, signal: new AbortController().signal },
  };
}

/** Parses argv as `main` does and runs doctor with test deps (short confirmation wait). */
async function doctor(
  argv: string[],
  env: Record<string, string | undefined>,
  deps: DoctorDeps = {},
): Promise<Run> {
  const { io: cio, out } = io(env);
  const { values, positionals } = parseCommandArgs(doctorCommand, argv);
  const code = await runDoctor(values, cio, positionals, {
    confirmTimeoutMs: 3000,
    confirmPollMs: 50,
    ...deps,
  });
  return { code, ...out };
}

function check(run: Run, id: string): { status: string; detail: string; fix?: string; fixed?: boolean } {
  const json = JSON.parse(run.stdout) as {
    checks: Array<{ id: string; status: string; detail: string; fix?: string }>;
  };
  const found = json.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id} in ${run.stdout}`);
  return found;
}

let emulator: RunningEmulator;
let webhook: SmnEndpoint;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  emulator = await startEmulator({ seed: 10 });
  webhook = await startSmnEndpoint();
});
afterAll(async () => {
  await emulator.close();
  await webhook.close();
});
beforeEach(() => {
  emulator.admin.reset();
  webhook.confirm = true;
  webhook.messages = [];
  const { HUAWEICLOUD_SDK_PROJECT_ID: _, ...rest } = clientEnv(emulator);
  // The default deployment: no project id, so IAM looks it up.
  env = { ...rest, LOG_LEVEL: 'silent' };
});

describe('doctor against a blank Huawei side', () => {
  it('fails on the missing topic, then --fix creates topic, subscription and notification, then all pass', async () => {
    const before = await doctor(['--webhook-url', webhook.url, '--json'], env);
    expect(before.code).toBe(1);
    expect(check(before, 'credentials').status).toBe('pass');
    expect(check(before, 'project').detail).toContain(emulator.projectId);
    for (const entry of IAM_ACTIONS.filter((e) => e.purpose === 'hook'))
      expect(check(before, `permission:${entry.api}`).status).toBe('pass');
    expect(check(before, 'smn-topic')).toMatchObject({ status: 'fail' });
    expect(check(before, 'smn-topic').fix).toContain('doctor --fix');

    const fixed = await doctor(['--webhook-url', webhook.url, '--fix', '--json'], env);
    expect(fixed.code).toBe(0);
    expect(check(fixed, 'smn-topic').fixed).toBe(true);
    expect(check(fixed, 'smn-subscription')).toMatchObject({ status: 'pass', fixed: true });
    expect(check(fixed, 'cts-notification')).toMatchObject({ status: 'pass', fixed: true });

    const after = await doctor(['--webhook-url', webhook.url], env);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('✓ credentials');
    expect(after.stdout).toContain('All checks passed.');
    expect(after.stdout).not.toContain('✗');

    // --fix again changes nothing.
    const again = await doctor(['--webhook-url', webhook.url, '--fix', '--json'], env);
    expect(again.code).toBe(0);
    expect(check(again, 'cts-notification').fixed).toBeUndefined();

    // The wiring works end to end: a BMS creation reaches the webhook through the new topic.
    emulator.admin.createServers({ windows: 1, linux: 0 });
    await emulator.admin.idle();
    expect(webhook.notifications()).toHaveLength(1);
    expect(webhook.notifications()[0]!['topic_urn']).toBe(
      `urn:smn:${emulator.region}:${emulator.projectId}:bms-password-escrow`,
    );
  });
});

describe('doctor --fix with the real webhook', () => {
  it('the webhook verifies and confirms the subscription doctor made, and then receives creations', async () => {
    const topicUrn = `urn:smn:${emulator.region}:${emulator.projectId}:bms-password-escrow`;
    const runtime = testRuntime({
      config: testConfig({
        SMN_CERT_HOST_ALLOWLIST: emulator.url,
        SMN_SUBSCRIBE_HOST_ALLOWLIST: emulator.url,
        SMN_TOPIC_URN_ALLOWLIST: topicUrn,
      }),
      clock: emulator.clock,
    });
    const real = await startWebhookServer(() => runtime);
    try {
      const url = `${real.url}/smn`;
      const fixed = await doctor(['--webhook-url', url, '--fix', '--json'], env);
      expect(check(fixed, 'smn-subscription')).toMatchObject({ status: 'pass', fixed: true });
      expect(fixed.code).toBe(0);
      emulator.admin.createServers({ windows: 1, linux: 0 });
      await emulator.admin.idle();
      expect(real.received.some((d) => d.status === 200 && d.body.includes('createBareMetalServers'))).toBe(
        true,
      );
    } finally {
      await real.close();
    }
  });
});

describe('doctor failure modes', () => {
  it('a bad SK: ✗ with the fix, and exactly one call (no retry, no lockout)', async () => {
    const run = await doctor(['--webhook-url', webhook.url, '--json'], {
      ...env,
      HUAWEICLOUD_SDK_SK: 'X'.repeat(40),
    });
    expect(run.code).toBe(1);
    const credentials = check(run, 'credentials');
    expect(credentials.status).toBe('fail');
    expect(credentials.fix).toMatch(/re-copy the secret key/);
    expect(check(run, 'smn-topic').status).toBe('skip');
    const calls = emulator.admin.calls().apis;
    const total = Object.values(calls).reduce((n, c) => n + c.total, 0);
    expect(total).toBe(1);
    expect(calls['iam.projects']!['401']).toBe(1);
  });

  it('a clock 20 minutes off: one stale signature, re-signed on the gateway time, and the clock check fails', async () => {
    emulator.admin.setSwitches({ gatewayClockOffsetSeconds: 20 * 60 });
    const run = await doctor(['--webhook-url', webhook.url, '--json'], env);
    expect(run.code).toBe(1);
    // The auth guard measured the skew from the refusal's Date and re-signed once: the key is fine.
    expect(check(run, 'credentials').status).toBe('pass');
    expect(check(run, 'clock')).toMatchObject({ status: 'fail' });
    expect(check(run, 'clock').detail).toMatch(/\d+ s/);
    expect(check(run, 'clock').fix).toMatch(/NTP/);
    expect(emulator.admin.calls().apis['iam.projects']!['401']).toBe(1);
  });

  it('a clock 12 minutes off: signatures still pass, the skew check fails', async () => {
    emulator.admin.setSwitches({ gatewayClockOffsetSeconds: -12 * 60 });
    const run = await doctor(['--webhook-url', webhook.url, '--json'], env);
    expect(run.code).toBe(1);
    expect(check(run, 'credentials').status).toBe('pass');
    expect(check(run, 'clock').detail).toMatch(/ahead of the gateway/);
    expect(check(run, 'clock').fix).toMatch(/NTP/);
  });

  it('a missing permission: the probe sees 403 and names the action to grant', async () => {
    emulator.admin.setSwitches({ deniedActions: ['bms:servers:deletePassword'] });
    const run = await doctor(['--webhook-url', webhook.url, '--json'], env);
    expect(run.code).toBe(1);
    expect(check(run, 'permission:password.delete')).toMatchObject({ status: 'fail' });
    expect(check(run, 'permission:password.delete').fix).toContain('add bms:servers:deletePassword');
    expect(check(run, 'permission:password.get').status).toBe('pass');
    // The probes only ever name a server id that cannot exist.
    const events = emulator.admin.calls().passwordEvents;
    expect(events.map((e) => [e.method, e.serverId, e.status])).toEqual([
      ['GET', PROBE_SERVER_ID, 404],
      ['DELETE', PROBE_SERVER_ID, 403],
    ]);
  });

  it('IAM lookup denied with no project id configured: the project check says what to grant', async () => {
    emulator.admin.setSwitches({ deniedActions: ['iam:projects:list'] });
    const run = await doctor(['--webhook-url', webhook.url, '--json'], env);
    expect(run.code).toBe(1);
    expect(check(run, 'project').fix).toMatch(/grant iam:projects:list.*or set HUAWEICLOUD_SDK_PROJECT_ID/);
    const configured = await doctor(['--webhook-url', webhook.url, '--json'], {
      ...env,
      HUAWEICLOUD_SDK_PROJECT_ID: emulator.projectId,
    });
    expect(check(configured, 'project').status).toBe('pass');
    expect(check(configured, 'permission:iam.projects').status).toBe('pass');
  });

  it('an unconfirmed subscription: --fix waits, then ✗; doctor says it is not confirmed', async () => {
    webhook.confirm = false;
    const fixed = await doctor(['--webhook-url', webhook.url, '--fix', '--json'], env, {
      confirmTimeoutMs: 200,
    });
    expect(fixed.code).toBe(1);
    expect(check(fixed, 'smn-subscription').detail).toMatch(/did not confirm/);
    const run = await doctor(['--webhook-url', webhook.url, '--json'], env);
    expect(run.code).toBe(1);
    const sub = check(run, 'smn-subscription');
    expect(sub.detail).toMatch(/subscribed but not confirmed/);
    expect(sub.fix).toMatch(/SMN_TOPIC_URN_ALLOWLIST/);
    expect(check(run, 'cts-notification').status).toBe('pass');
  });

  it('a --topic-urn of another project: ✗, and --fix creates nothing', async () => {
    const other = `urn:smn:${emulator.region}:0123456789abcdef0123456789abcdef:escrow`;
    const run = await doctor(['--webhook-url', webhook.url, '--topic-urn', other, '--fix', '--json'], env);
    expect(run.code).toBe(1);
    expect(check(run, 'smn-topic').detail).toMatch(/names project 0123456789abcdef/);
    expect(emulator.admin.calls().apis['smn.topics.create']).toBeUndefined();
  });

  it('no CTS notification: ✗ with the fix, once topic and subscription exist', async () => {
    const clients = createHuaweiClients(parseHuaweiConfig(clientEnv(emulator)), {
      credentials: staticCredentialProvider({ accessKey: emulator.accessKey, secretKey: emulator.secretKey }),
      clock: systemClock,
    });
    try {
      const topicUrn = await clients.smn.createTopic(emulator.projectId, 'escrow-events');
      await clients.smn.subscribe(emulator.projectId, topicUrn, new URL(webhook.url));
      await emulator.admin.idle();
      const run = await doctor(['--webhook-url', webhook.url, '--topic-urn', topicUrn, '--json'], env);
      expect(run.code).toBe(1);
      expect(check(run, 'smn-topic').status).toBe('pass');
      expect(check(run, 'smn-subscription').status).toBe('pass');
      const cts = check(run, 'cts-notification');
      expect(cts.status).toBe('fail');
      expect(cts.detail).toContain('createBareMetalServers');
      expect(cts.fix).toContain('doctor --fix');
    } finally {
      await clients.close();
    }
  });
});

describe('doctor on the AWS side', () => {
  let fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
  let sm: SecretsManagerFake;
  let sqs: SQSClient;
  let secrets: SecretsManagerClient;
  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, logger: false });
    sm = await startSecretsManagerFake();
    sqs = new SQSClient({
      endpoint: fauxqs.address,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    secrets = new SecretsManagerClient({ endpoint: sm.endpoint, ...sm.clientConfig });
  });
  afterAll(async () => {
    sqs.destroy();
    secrets.destroy();
    await fauxqs.stop();
    await sm.close();
  });
  afterEach(() => sm.faults.reset());

  it('skips what is not configured, passes what is reachable, fails a wrong queue', async () => {
    const unset = await doctor(['--webhook-url', webhook.url, '--json'], env, {
      sqs,
      secretsManager: secrets,
    });
    expect(check(unset, 'aws-queue')).toMatchObject({
      status: 'skip',
      detail: expect.stringContaining('not configured'),
    });

    const queueUrl = fauxqs.createQueue('work').queueUrl;
    const dlqUrl = fauxqs.createQueue('work-dlq').queueUrl;
    await secrets.send(
      new CreateSecretCommand({
        Name: 'bms-password-escrow/huawei-ak-sk',
        SecretString: JSON.stringify({ ak: emulator.accessKey, sk: emulator.secretKey }),
      }),
    );
    const { HUAWEICLOUD_SDK_AK: _a, HUAWEICLOUD_SDK_SK: _s, ...noKeys } = env;
    const configured = {
      ...noKeys,
      WORK_QUEUE_URL: queueUrl,
      WORK_DLQ_URL: dlqUrl,
      HUAWEICLOUD_CREDENTIALS_SECRET_ID: 'bms-password-escrow/huawei-ak-sk',
    };
    const run = await doctor(['--webhook-url', webhook.url, '--json'], configured, {
      sqs,
      secretsManager: secrets,
    });
    expect(check(run, 'credentials').status).toBe('pass');
    expect(check(run, 'aws-queue').status).toBe('pass');
    expect(check(run, 'aws-dlq').status).toBe('pass');
    expect(check(run, 'aws-secret').status).toBe('pass');

    const wrong = await doctor(
      ['--webhook-url', webhook.url, '--json'],
      {
        ...configured,
        WORK_QUEUE_URL: `${fauxqs.address}/000000000000/no-such-queue`,
      },
      { sqs, secretsManager: secrets },
    );
    expect(check(wrong, 'aws-queue')).toMatchObject({ status: 'fail' });
    expect(check(wrong, 'aws-queue').fix).toContain('WORK_QUEUE_URL');
  });
});

describe('doctor usage', () => {
  const runMain = async (argv: string[]): Promise<Run> => {
    const { io: cio, out } = io(env);
    const code = await main(argv, cio);
    return { code, ...out };
  };

  it.each([
    [['doctor'], /--webhook-url is required/],
    [['doctor', '--webhook-url', 'http://example.com/smn'], /must be https/],
    [['doctor', '--webhook-url', 'not a url'], /not a URL/],
    [['doctor', '--webhook-url', 'https://x.example/smn', '--topic-urn', 'urn:smn:x'], /--topic-urn/],
    [['doctor', '--webhook-url', 'https://x.example/smn', 'extra'], /takes no arguments/],
    [['doctor', '--webhook-url', 'https://x.example/smn', '--fixx'], /Unknown option/],
  ])('%j exits 2', async (argv, message) => {
    const run = await runMain(argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(emulator.admin.calls().apis).toEqual({});
  });

  it('--help documents the flags and exit codes', async () => {
    const run = await runMain(['doctor', '--help']);
    expect(run.code).toBe(0);
    for (const flag of ['--webhook-url', '--topic-urn', '--fix', '--json'])
      expect(run.stdout).toContain(flag);
    expect(run.stdout).toMatch(/0 every check passed/);
  });
});
