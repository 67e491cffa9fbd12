/**
 * The Huawei Cloud emulator: BMS v1 + IAM project lookup behind an emulated API gateway
 * (AK/SK, throttling, faults), Cloudbase-Init password posting, CTS traces pushed over
 * SMN, and an admin surface for tests. Start one with `startEmulator()`.
 */
import { generateKeyPairSync, randomInt } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { scaledClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/observability/logger.ts';
import { registerSecret } from '../lib/observability/redact.ts';
import { createAdmin } from './admin.ts';
import { CredentialStore, generateAccessKey, generateSecretKey } from './credentials.ts';
import { DEFAULT_SWITCHES, EmulatorCore, mergeSwitches } from './emulator-core.ts';
import { createEmulatorServer } from './http-server.ts';
import { createRandom, deriveSeed } from './seeded-random.ts';
import { loadSmnSigningMaterial } from './smn-publisher.ts';
import type { EmulatorKeyPair, EmulatorOptions, RunningEmulator } from './types.ts';

export { API_LIMITS_PER_MINUTE, type ApiName } from '../lib/huawei/api-names.ts';
export { DEFAULT_SWITCHES } from './emulator-core.ts';
export { SMN_CERT_PATH } from './smn-publisher.ts';
export type * from './types.ts';

export function generateEmulatorKeyPair(name = 'KeyPair-emulator'): EmulatorKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    // PKCS#1 "BEGIN RSA PRIVATE KEY", the shape of a Huawei KPS key pair download.
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { name, publicKeyPem: publicKey, privateKeyPem: privateKey };
}

function formatUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const seed = options.seed ?? randomInt(2 ** 31);
  const identity = createRandom(deriveSeed(seed, 'identity'));
  const region = options.region ?? 'cn-north-4';
  const projectId = options.projectId ?? identity.hex(32);
  const domainId = identity.hex(32);
  const accessKey = options.accessKey ?? generateAccessKey(identity);
  const secretKey = options.secretKey ?? generateSecretKey(identity);
  const keyPair = options.keyPair ?? generateEmulatorKeyPair();
  const clock = scaledClock(options.timeScale ?? 1, Date.now());
  const logger = (options.logger ?? silentLogger).child({ component: 'emulator' });
  const switches = mergeSwitches(DEFAULT_SWITCHES, options.switches ?? {});
  registerSecret(secretKey);
  registerSecret(keyPair.privateKeyPem);

  const smnMaterial = loadSmnSigningMaterial();
  let url = '';
  const core = new EmulatorCore({
    clock,
    seed,
    region,
    projectId,
    domainId,
    credentials: new CredentialStore(
      { accessKey, secretKey, projectId },
      clock,
      createRandom(deriveSeed(seed, 'temporary-credentials')),
    ),
    keyPair,
    switches,
    logger,
    smnSigningKeyPem: smnMaterial.keyPem,
    baseUrl: () => url,
  });
  const admin = createAdmin(core);
  const issue = admin.issueTemporaryCredentials;
  admin.issueTemporaryCredentials = (durationSeconds) => {
    const credentials = issue(durationSeconds);
    registerSecret(credentials.secretKey);
    registerSecret(credentials.securityToken);
    return credentials;
  };

  const server = createEmulatorServer(core, admin, smnMaterial.certPem);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  url = formatUrl(server.address() as AddressInfo);
  logger.info('emulator listening', { url, region, projectId, timeScale: clock.scale, seed });

  let closing: Promise<void> | undefined;
  return {
    url,
    region,
    projectId,
    smnTopicUrn: core.smn.topicUrn,
    accessKey,
    secretKey,
    clock,
    admin,
    close() {
      closing ??= (async () => {
        await core.smn.idle();
        core.posted.reset();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        logger.info('emulator closed', { url });
      })();
      return closing;
    },
  };
}
