import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { systemClock } from '../../lib/clock.ts';
import { readString } from '../../lib/config/env-parsers.ts';
import { runAwsChecks } from '../../lib/doctor/aws-checks.ts';
import { renderReport, report } from '../../lib/doctor/check-result.ts';
import { DEFAULT_TOPIC_NAME, NOTIFICATION_NAME, runHuaweiChecks } from '../../lib/doctor/huawei-checks.ts';
import { AuthGuard } from '../../lib/huawei/auth-guard.ts';
import { readEnvCredentials } from '../../lib/huawei/credentials.ts';
import { UndiciTransport } from '../../lib/huawei/http-transport.ts';
import { createHuaweiClients, type HuaweiClients } from '../../lib/huawei/huawei-clients.ts';
import { parseHuaweiConfig } from '../../lib/huawei/huawei-config.ts';
import {
  credentialProviderFromEnv,
  ENV_CREDENTIALS_SECRET_ID,
} from '../../lib/huawei/secrets-manager-credentials.ts';
import { InvalidTopicError, validateTopicUrn } from '../../lib/huawei/smn-client.ts';
import { effectiveEnv, type Flags, TARGET_HELP, TARGET_OPTIONS, writeJson } from '../cli-runtime.ts';
import { type Command, type CommandIo, EXIT, UsageError } from '../command.ts';

export interface DoctorDeps {
  sqs?: SQSClient | undefined;
  secretsManager?: SecretsManagerClient | undefined;
  /** `--fix`: how long to wait for the webhook to confirm the subscription (default 30 s). */
  confirmTimeoutMs?: number | undefined;
  confirmPollMs?: number | undefined;
}

/** The hook's SMN endpoint: https, or http on a loopback host (the local stack and the emulator). */
export function parseWebhookUrl(value: unknown): URL {
  if (typeof value !== 'string' || value === '')
    throw new UsageError(
      "--webhook-url is required: the hook's SMN endpoint, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/smn",
    );
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--webhook-url is not a URL: ${JSON.stringify(value.slice(0, 200))}`);
  }
  const loopback = ['localhost', '[::1]'].includes(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new UsageError(
      '--webhook-url must be https (SMN subscriptions of the hook are HTTPS); http only on a loopback host',
    );
  if (url.username !== '' || url.password !== '' || url.hash !== '')
    throw new UsageError('--webhook-url must carry no credentials and no #fragment');
  return url;
}

export async function runDoctor(
  flags: Flags,
  io: CommandIo,
  positionals: string[],
  deps: DoctorDeps = {},
): Promise<number> {
  if (positionals.length > 0) throw new UsageError(`doctor takes no arguments, got "${positionals[0]}"`);
  const webhookUrl = parseWebhookUrl(flags['webhook-url']);
  const env = effectiveEnv(io, flags);
  const config = parseHuaweiConfig(env);
  let topicUrn: string | undefined;
  if (flags['topic-urn'] !== undefined) {
    try {
      topicUrn = validateTopicUrn(String(flags['topic-urn']));
    } catch (error) {
      if (error instanceof InvalidTopicError) throw new UsageError(`--topic-urn: ${error.message}`);
      throw error;
    }
    if (topicUrn.split(':')[2] !== config.region)
      throw new UsageError(
        `--topic-urn is in region ${topicUrn.split(':')[2]}, but the target region is ${config.region}`,
      );
  }
  const fix = flags['fix'] === true;

  const transport = new UndiciTransport({
    connectTimeoutMs: config.connectTimeoutMs,
    timeoutMs: config.timeoutMs,
  });
  // Doctor's own guard: skew measured and corrected as in the hook, but a 403 on one probe must
  // not hold back the next (each is a separate finding). A 401 stops doctor itself at once.
  const guard = new AuthGuard({ cooldownMs: 0, maxProbes: Number.MAX_SAFE_INTEGER });
  let clients: HuaweiClients | undefined;
  let credentialsError: unknown;
  try {
    // A missing AK/SK is a finding here, not a crash: read it up front to report it as one.
    if (readString(env, ENV_CREDENTIALS_SECRET_ID) === undefined) readEnvCredentials(env);
    clients = createHuaweiClients(config, {
      credentials: await credentialProviderFromEnv(env, {
        clock: systemClock,
        ...(deps.secretsManager ? { secretsManagerClient: deps.secretsManager } : {}),
      }),
      clock: systemClock,
      transport,
      authGuard: guard,
    });
  } catch (error) {
    credentialsError = error;
  }

  let sqs = deps.sqs;
  let secretsManager = deps.secretsManager;
  try {
    const checks = [
      ...(await runHuaweiChecks({
        config,
        clients,
        credentialsError,
        skewMs: () => guard.health().skewMs,
        webhookUrl,
        topicUrn,
        fix,
        signal: io.signal,
        confirmTimeoutMs: deps.confirmTimeoutMs ?? 30_000,
        confirmPollMs: deps.confirmPollMs ?? 1000,
        sleep: (ms, signal) => systemClock.sleep(ms, signal),
      })),
      ...(await runAwsChecks(env, {
        sqs: () => {
          sqs ??= new SQSClient({});
          return sqs;
        },
        secretsManager: () => {
          secretsManager ??= new SecretsManagerClient({});
          return secretsManager;
        },
        signal: io.signal,
      })),
    ];
    const result = report(checks);
    if (flags['json'] === true) {
      writeJson(io, {
        ok: result.ok,
        region: config.region,
        webhookUrl: webhookUrl.href,
        fix,
        checks: result.checks,
      });
    } else {
      io.stdout.write(
        `bms-password-escrow doctor: region ${config.region}, webhook ${webhookUrl.href}${fix ? ', fixing' : ''}\n\n`,
      );
      io.stdout.write(renderReport(result));
    }
    return result.ok ? EXIT.ok : EXIT.error;
  } finally {
    await transport.close();
  }
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: `Check the setup, Huawei and AWS side, before a server is exposed: the credentials sign (one call; a refused signature stops everything so the AK/SK is not locked), the clock is within 10 minutes of the gateway's (past that the hook refuses to sign), the project resolves, every IAM action the hook needs is granted (each probed with a harmless call on an id that cannot exist, which must answer "not found", not 403), the SMN topic exists with a confirmed HTTPS subscription of the webhook, a CTS key-event notification sends BMS creation (createBareMetalServers, resource type bms) to that topic, and the queue, DLQ and credentials secret are reachable. Each check prints ✓ or ✗, and a ✗ says the fix. --fix creates what is missing on the Huawei side, idempotently: the topic (default "${DEFAULT_TOPIC_NAME}"), the subscription (then waits for the webhook to confirm it) and the notification "${NOTIFICATION_NAME}".`,
  usage: 'doctor --webhook-url URL [--topic-urn URN] [--fix] [--region R] [--project-id P] [--json]',
  help: `  --webhook-url URL        the hook's SMN endpoint (https://…/smn; http only on loopback)
  --topic-urn URN          the SMN topic to check (default urn:smn:{region}:{project}:${DEFAULT_TOPIC_NAME})
  --fix                    create the missing topic, subscription and CTS notification
${TARGET_HELP}

Doctor exit codes: 0 every check passed (skipped ones included), 1 a check failed,
2 usage or configuration error. AWS checks read WORK_QUEUE_URL, WORK_DLQ_URL and
HUAWEICLOUD_CREDENTIALS_SECRET_ID, and are skipped when those are unset.`,
  options: {
    ...TARGET_OPTIONS,
    'webhook-url': { type: 'string' },
    'topic-urn': { type: 'string' },
    fix: { type: 'boolean' },
  },
  run: (values, io, positionals) => runDoctor(values, io, positionals),
};
