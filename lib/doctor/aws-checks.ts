/**
 * The AWS half of `doctor`: the work queue, its DLQ and the Huawei credentials secret named by
 * the same variables the Lambda functions read (WORK_QUEUE_URL, WORK_DLQ_URL,
 * HUAWEICLOUD_CREDENTIALS_SECRET_ID). Each is looked at without reading a message or a secret
 * value (GetQueueAttributes, DescribeSecret); one that is not configured is skipped, not failed.
 */
import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type Env, readString } from '../config/env-parsers.ts';
import { ENV_CREDENTIALS_SECRET_ID } from '../huawei/secrets-manager-credentials.ts';
import { type CheckResult, fail, pass, skip } from './check-result.ts';

export interface AwsDoctorDeps {
  sqs: () => SQSClient;
  secretsManager: () => SecretsManagerClient;
  signal?: AbortSignal | undefined;
}

function awsError(error: unknown): string {
  const e = error as { name?: string; message?: string };
  return `${e.name ?? 'Error'}: ${e.message ?? String(error)}`;
}

async function queueCheck(
  id: string,
  title: string,
  variable: string,
  env: Env,
  deps: AwsDoctorDeps,
): Promise<CheckResult> {
  const url = readString(env, variable);
  if (url === undefined) return skip(id, title, `not configured (${variable} is unset)`);
  try {
    const out = await deps.sqs().send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages'],
      }),
      { abortSignal: deps.signal },
    );
    const waiting = Number(out.Attributes?.['ApproximateNumberOfMessages'] ?? 0);
    const note =
      id === 'aws-dlq' && waiting > 0 ? `; ${waiting} message(s) waiting (see the README's DLQ redrive)` : '';
    return pass(id, title, `${out.Attributes?.['QueueArn'] ?? url} reachable${note}`);
  } catch (error) {
    return fail(
      id,
      title,
      `${url}: ${awsError(error)}`,
      `check ${variable}, AWS_REGION and that these credentials may sqs:GetQueueAttributes on the stack's queue`,
    );
  }
}

export async function runAwsChecks(env: Env, deps: AwsDoctorDeps): Promise<CheckResult[]> {
  const results = [
    await queueCheck('aws-queue', 'AWS work queue', 'WORK_QUEUE_URL', env, deps),
    await queueCheck('aws-dlq', 'AWS dead-letter queue', 'WORK_DLQ_URL', env, deps),
  ];
  const secretId = readString(env, ENV_CREDENTIALS_SECRET_ID);
  if (secretId === undefined) {
    results.push(
      skip('aws-secret', 'AWS credentials secret', `not configured (${ENV_CREDENTIALS_SECRET_ID} is unset)`),
    );
    return results;
  }
  try {
    const out = await deps
      .secretsManager()
      .send(new DescribeSecretCommand({ SecretId: secretId }), { abortSignal: deps.signal });
    results.push(pass('aws-secret', 'AWS credentials secret', `${out.ARN ?? secretId} reachable`));
  } catch (error) {
    results.push(
      fail(
        'aws-secret',
        'AWS credentials secret',
        `${secretId}: ${awsError(error)}`,
        `check ${ENV_CREDENTIALS_SECRET_ID}, AWS_REGION and that these credentials may secretsmanager:DescribeSecret on it`,
      ),
    );
  }
  return results;
}
