/**
 * After a scenario: every escrowed version read straight from the store, and the list of
 * secrets whose appearance in any output is a leak (the emulator's SK, lines of the key pair's
 * private key, every escrowed ciphertext, its prefix and its plaintext).
 */
import type { ServerTruth } from '../../emulator/types.ts';
import { createPasswordDecryptor, parsePrivateKey } from '../../lib/escrow/decrypt.ts';
import type { EscrowStore } from '../../lib/escrow/escrow-store.ts';
import type { EscrowView } from './invariants.ts';

export interface EscrowSnapshot {
  escrow: Map<string, EscrowView>;
  secrets: Array<{ kind: string; value: string }>;
}

export async function snapshotEscrow(input: {
  store: EscrowStore;
  truths: readonly ServerTruth[];
  target: { projectId: string; region: string };
  secretKey: string;
  privateKeyPem: string;
}): Promise<EscrowSnapshot> {
  const secrets: EscrowSnapshot['secrets'] = [{ kind: 'Huawei SK', value: input.secretKey }];
  for (const line of input.privateKeyPem
    .split('\n')
    .filter((l) => l.length === 64)
    .slice(1, 4))
    secrets.push({ kind: 'private key', value: line });
  const decryptor = createPasswordDecryptor(parsePrivateKey(input.privateKeyPem));
  const escrow = new Map<string, EscrowView>();
  for (const truth of input.truths) {
    if (truth.osType !== 'Windows') continue;
    const ref = { ...input.target, serverId: truth.id };
    const ledger = await input.store.ledger(ref);
    const records = [];
    for (const v of ledger?.versions ?? []) {
      const record = await input.store.read(ref, v.versionId);
      records.push(record);
      if (!record) continue;
      secrets.push({ kind: 'ciphertext', value: record.ciphertext });
      secrets.push({ kind: 'ciphertext prefix', value: record.ciphertext.slice(0, 24) });
      try {
        secrets.push({ kind: 'plaintext password', value: decryptor.decrypt(record.ciphertext) });
      } catch {
        // A version that does not decrypt is caught as lost/duplicated by the content check.
      }
    }
    escrow.set(truth.id, { ledger, records });
  }
  return { escrow, secrets };
}
