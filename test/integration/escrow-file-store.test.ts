import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sameCiphertext, sha256Hex } from '../../lib/escrow/escrow-record.ts';
import type { ServerRef } from '../../lib/escrow/escrow-store.ts';
import { createFileEscrowStore } from '../../lib/escrow/file-store.ts';
import { projectRoot } from '../helpers/fixtures.ts';
import { canUnshare } from '../helpers/mount-namespace.ts';
import {
  expectCleanStoreError,
  fixtureCiphertexts,
  newRef,
  recordFor,
  storeContract,
} from '../unit/escrow/store-contract.ts';

const base = mkdtempSync(join(tmpdir(), 'escrow-file-test-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const freshRoot = (): string => join(base, `root-${++n}`);
const { first, second } = fixtureCiphertexts;

describe('file escrow store: the store contract', () => {
  const root = freshRoot();
  storeContract(() => createFileEscrowStore({ root }));
});

describe('file escrow store: on disk', () => {
  const mode = (path: string): number => statSync(path).mode & 0o777;

  it('creates directories 0700 and files 0600', async () => {
    const root = freshRoot();
    const store = createFileEscrowStore({ root });
    const ref = newRef();
    const v = await store.put(recordFor(ref, first));
    await store.markCleared(ref, v.versionId);
    const dir = join(root, ref.projectId, ref.serverId);
    expect([mode(root), mode(join(root, ref.projectId)), mode(dir)]).toEqual([0o700, 0o700, 0o700]);
    expect(readdirSync(dir).sort()).toEqual([`${v.sha256}.cleared`, `${v.sha256}.json`]);
    expect(mode(join(dir, `${v.sha256}.json`))).toBe(0o600);
    expect(mode(join(dir, `${v.sha256}.cleared`))).toBe(0o600);
  });

  it('re-reads the file on every read, so a changed file reaches the caller compare', async () => {
    const root = freshRoot();
    const store = createFileEscrowStore({ root });
    const ref = newRef();
    const v = await store.put(recordFor(ref, first));
    const file = join(root, ref.projectId, ref.serverId, `${v.versionId}.json`);
    const record = JSON.parse(readFileSync(file, 'utf8'));
    const forged = `B${first.slice(1)}`;
    writeFileSync(file, JSON.stringify({ ...record, ciphertext: forged, sha256: sha256Hex(forged) }));
    // The name says one sha, the content another: corrupt, not silently accepted.
    const error = await store.read(ref, v.versionId).catch((e: unknown) => e);
    expectCleanStoreError(error, 'CorruptRecord', [first, forged]);
    writeFileSync(file, '{"schema":1,');
    expectCleanStoreError(await store.read(ref, v.versionId).catch((e: unknown) => e), 'CorruptRecord', [
      first,
    ]);
  });

  it('rejects a file that belongs to another server', async () => {
    const root = freshRoot();
    const store = createFileEscrowStore({ root });
    const [a, b] = [newRef(), newRef()];
    const va = await store.put(recordFor(a, first));
    await store.put(recordFor(b, second));
    const source = join(root, a.projectId, a.serverId, `${va.versionId}.json`);
    writeFileSync(join(root, b.projectId, b.serverId, `${va.versionId}.json`), readFileSync(source));
    const error = await store.read(b, va.versionId).catch((e: unknown) => e);
    expectCleanStoreError(error, 'CorruptRecord', [first]);
  });

  it('leaves no visible version after a crash between the temp write and the commit', async () => {
    const root = freshRoot();
    const ref = newRef();
    const script = `
      import { createFileEscrowStore } from ${JSON.stringify(join(projectRoot, 'lib/escrow/file-store.ts'))};
      import { buildEscrowRecord } from ${JSON.stringify(join(projectRoot, 'lib/escrow/escrow-record.ts'))};
      const store = createFileEscrowStore({
        root: ${JSON.stringify(root)},
        beforeCommit: () => process.kill(process.pid, 'SIGKILL'),
      });
      const ref = ${JSON.stringify(ref)};
      await store.put(buildEscrowRecord({ ref, ciphertext: ${JSON.stringify(first)}, retrievedAt: new Date() }));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.signal).toBe('SIGKILL');
    const dir = join(root, ref.projectId, ref.serverId);
    const left = readdirSync(dir);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^\..*\.tmp$/);

    const store = createFileEscrowStore({ root });
    expect(await store.ledger(ref)).toBeUndefined();
    // Its writer is gone: reading the ledger removed the stray temp file.
    expect(readdirSync(dir)).toEqual([]);
    expect(await store.read(ref, sha256Hex(first))).toBeUndefined();
    const v = await store.put(recordFor(ref, first));
    expect(sameCiphertext((await store.read(ref, v.versionId))?.ciphertext ?? '', first)).toBe(true);
    expect((await store.ledger(ref))?.versions).toHaveLength(1);
  });

  it('rejects ids that could escape the root, and writes nothing', async () => {
    const root = freshRoot();
    const store = createFileEscrowStore({ root });
    const good = newRef();
    const bad: ServerRef[] = [
      { ...good, serverId: '..' },
      { ...good, serverId: '../../etc' },
      { ...good, projectId: 'a/b' },
      { ...good, projectId: '.hidden' },
      { ...good, serverId: '%2e%2e' },
      { ...good, serverId: 'a\0b' },
      { ...good, serverId: 'a\\b' },
      { ...good, serverId: '' },
    ];
    for (const ref of bad) {
      for (const call of [
        () => store.ledger(ref),
        () => store.read(ref, sha256Hex(first)),
        () => store.markCleared(ref, sha256Hex(first)),
      ]) {
        expectCleanStoreError(await call().catch((e: unknown) => e), 'InvalidId', [first]);
      }
    }
    for (const versionId of ['../x', `${sha256Hex(first)}/../..`, 'ABC', '']) {
      expectCleanStoreError(await store.read(good, versionId).catch((e: unknown) => e), 'InvalidId', []);
    }
    // A record with a bad id is refused before anything touches the disk.
    const record = { ...recordFor(good, first), serverId: '../../x' };
    expectCleanStoreError(await store.put(record).catch((e: unknown) => e), 'InvalidId', [first]);
    expect(existsSync(root)).toBe(false);
  });

  it('refuses a record whose sha256 does not match its ciphertext', async () => {
    const store = createFileEscrowStore({ root: freshRoot() });
    const record = { ...recordFor(newRef(), first), sha256: sha256Hex(second) };
    expectCleanStoreError(await store.put(record).catch((e: unknown) => e), 'InvalidRecord', [first]);
  });

  it('does not count a truncated version file as escrowed, and the next put repairs it', async () => {
    const root = freshRoot();
    const store = createFileEscrowStore({ root });
    const ref = newRef();
    const v = await store.put(recordFor(ref, first));
    await store.markCleared(ref, v.versionId);
    const file = join(root, ref.projectId, ref.serverId, `${v.versionId}.json`);
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, 40));
    expect(await store.ledger(ref)).toBeUndefined();
    const again = await store.put(recordFor(ref, first));
    expect(sameCiphertext((await store.read(ref, again.versionId))?.ciphertext ?? '', first)).toBe(true);
    expect((await store.ledger(ref))?.versions.map((x) => x.versionId)).toEqual([v.versionId]);
  });

  it.skipIf(!canUnshare())('reports EROFS, not ENOENT, on a read-only filesystem', () => {
    const mount = join(base, `ro-${++n}`);
    mkdirSync(mount);
    const script = `
      import { createFileEscrowStore } from ${JSON.stringify(join(projectRoot, 'lib/escrow/file-store.ts'))};
      import { buildEscrowRecord } from ${JSON.stringify(join(projectRoot, 'lib/escrow/escrow-record.ts'))};
      const store = createFileEscrowStore({ root: ${JSON.stringify(join(mount, 'escrow'))} });
      const ref = ${JSON.stringify(newRef())};
      const record = buildEscrowRecord({ ref, ciphertext: ${JSON.stringify(first)}, retrievedAt: new Date() });
      await store.put(record).catch((e) => console.log(e.code));
    `;
    // A private mount namespace: a read-only tmpfs without privileges on the host.
    const child = spawnSync(
      'unshare',
      [
        '-Urm',
        'sh',
        '-c',
        'mount -t tmpfs tmpfs "$1" && mount -o remount,ro "$1" && exec "$2" --input-type=module -e "$3"',
        'sh',
        mount,
        process.execPath,
        script,
      ],
      { encoding: 'utf8' },
    );
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('EROFS');
  });
});
