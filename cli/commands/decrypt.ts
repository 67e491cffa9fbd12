import { readFile } from 'node:fs/promises';
import { createPasswordDecryptor, parsePrivateKey } from '../../lib/escrow/decrypt.ts';
import type { EscrowVersionInfo } from '../../lib/escrow/escrow-store.ts';
import { checkId, directRuntime, effectiveEnv, TARGET_HELP, TARGET_OPTIONS, target } from '../cli-runtime.ts';
import { type Command, EXIT, requireOption, UsageError } from '../command.ts';

function pickVersion(
  versions: EscrowVersionInfo[],
  wanted: string | undefined,
): EscrowVersionInfo | undefined {
  if (wanted === undefined || wanted === 'latest') {
    return [...versions].sort(
      (a, b) => (Date.parse(b.createdAt ?? '') || 0) - (Date.parse(a.createdAt ?? '') || 0),
    )[0];
  }
  return versions.find((v) => v.versionId.startsWith(wanted) || v.sha256.startsWith(wanted));
}

/** A key file that cannot be read is the operator's mistake (exit 2), said plainly. */
async function readKeyFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (code ?? 'unreadable');
    throw new UsageError(
      `--key ${JSON.stringify(path)} cannot be read (${why}); give the private key PEM file`,
      {
        cause,
      },
    );
  }
}

export const decryptCommand: Command = {
  name: 'decrypt',
  summary:
    "Decrypt a server's escrowed ciphertext with its key pair's private key and print the Administrator password. The plaintext goes to stdout only, and only with --reveal.",
  usage: 'decrypt --server-id S --key key.pem --reveal [--project-id P] [--region R] [--version V]',
  help: `  --server-id S            the bare metal server id
  --key FILE               the key pair's private key (PEM), e.g. the .pem downloaded from the console
  --reveal                 consent to print the plaintext password on stdout
  --version V              escrow version id or sha256 prefix (default: the latest)
${TARGET_HELP.split('\n').slice(0, 2).join('\n')}`,
  options: {
    'project-id': TARGET_OPTIONS['project-id'],
    region: TARGET_OPTIONS.region,
    'server-id': { type: 'string' },
    key: { type: 'string' },
    reveal: { type: 'boolean' },
    version: { type: 'string' },
  },
  async run(flags, io) {
    const env = effectiveEnv(io, flags);
    const serverId = checkId(
      'server id',
      'server-id',
      requireOption(flags, 'server-id', 'the id of the server whose password to decrypt'),
    );
    const keyFile = requireOption(flags, 'key', "the key pair's private key file (PEM)");
    if (flags['reveal'] !== true) {
      throw new UsageError(
        'refusing to print a password without consent: add --reveal (it goes to stdout only)',
      );
    }
    const decryptor = createPasswordDecryptor(parsePrivateKey(await readKeyFile(keyFile)));
    const { projectId, region } = await target(env, io.signal);
    const runtime = await directRuntime(io, env);
    try {
      const ref = { projectId, region, serverId };
      const ledger = await runtime.process.store.ledger(ref, { signal: io.signal });
      const version = pickVersion(ledger?.versions ?? [], flags['version'] as string | undefined);
      if (!version) {
        io.stderr.write(`error: no escrowed version for ${serverId} in ${projectId}/${region}\n`);
        return EXIT.error;
      }
      const record = await runtime.process.store.read(ref, version.versionId, { signal: io.signal });
      if (!record) {
        io.stderr.write(`error: escrow version ${version.versionId} could not be read\n`);
        return EXIT.error;
      }
      io.stdout.write(`${decryptor.decrypt(record.ciphertext)}\n`);
      io.stderr.write(`decrypted escrow version ${version.versionId.slice(0, 12)} of ${serverId}\n`);
      return EXIT.ok;
    } finally {
      await runtime.close();
    }
  },
};
