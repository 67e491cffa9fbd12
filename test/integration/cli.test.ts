import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeOutcome, describeWait } from '../../cli/commands/process.ts';
import { main } from '../../cli/main.ts';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { STATE_DB_FILE } from '../../lib/local/local-config.ts';
import { sqliteBoardStore } from '../../lib/local/status-board.ts';
import { SqliteDatabase } from '../../lib/queue/sqlite-database.ts';

let emu: RunningEmulator;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  // Real time: the CLI runs on the wall clock, like an operator against the real cloud.
  emu = await startEmulator({ timeScale: 1, seed: 7 });
  dir = await mkdtemp(join(tmpdir(), 'bpe-cli-'));
  env = {
    HUAWEICLOUD_SDK_AK: emu.accessKey,
    HUAWEICLOUD_SDK_SK: emu.secretKey,
    HUAWEICLOUD_SDK_REGION: emu.region,
    HUAWEICLOUD_BMS_ENDPOINT: emu.url,
    HUAWEICLOUD_IAM_ENDPOINT: emu.url,
    ESCROW_FILE_DIR: join(dir, 'escrow'),
    LOCAL_STATE_DIR: join(dir, 'local'),
  };
});
afterAll(async () => {
  await emu.close();
  await rm(dir, { recursive: true, force: true });
});

async function cli(argv: string[], extraEnv: Record<string, string> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => {
    out += c;
  });
  stderr.on('data', (c) => {
    err += c;
  });
  const code = await main(argv, {
    stdout,
    stderr,
    env: { ...env, ...extraEnv },
    signal: new AbortController().signal,
  });
  return { code, out, err };
}

describe('the bms-password-escrow CLI against the emulator', () => {
  it('prints help for every command, with the exit codes', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const name of ['process', 'sweep', 'status', 'decrypt', 'serve', 'demo', 'emulator']) {
      expect(top.out).toContain(name);
      const sub = await cli([name, '--help']);
      expect(sub.code, name).toBe(0);
      expect(sub.out, name).toMatch(/Usage: bms-password-escrow/);
    }
    expect(top.out).toContain('75');
  });

  it('rejects unknown commands and flags with exit 2', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    const bad = await cli(['process', '--server-idd', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/process --help/);
  });

  it('names the missing variable and the fix when credentials are absent', async () => {
    const { code, err } = await cli(
      ['process', '--project-id', emu.projectId, '--server-id', '5f8c6d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6'],
      {
        HUAWEICLOUD_SDK_AK: '',
      },
    );
    expect(code).toBe(2);
    expect(err).toMatch(/HUAWEICLOUD_SDK_AK is not set; export it, or run against the emulator/);
  });

  it('process: 75 before the post, then escrows, clears and verifies (exit 0); a rerun is a no-op', async () => {
    const { windowsIds, linuxIds } = emu.admin.createServers({
      windows: 1,
      linux: 1,
      bootDelaySeconds: 0,
      postDelaySeconds: 3600,
    });
    const serverId = windowsIds[0]!;
    const args = ['process', '--project-id', emu.projectId, '--server-id', serverId, '--json'];

    const early = await cli(args);
    expect(early.code).toBe(75);
    expect(JSON.parse(early.out).outcome).toMatchObject({ kind: 'not-ready', reason: 'not-posted' });

    emu.admin.guestPost(serverId);
    const truth = emu.admin.server(serverId)!.ciphertext!;
    const done = await cli(args);
    expect(done.code, done.out + done.err).toBe(0);
    // Escrowed, cleared and verified; this run did not see the record empty in this launch, so
    // within the launch's first hour it cannot rule out a reinstall's new OS posting: "watching".
    expect(JSON.parse(done.out).outcome).toMatchObject({ kind: 'not-ready', reason: 'watching' });
    expect(emu.admin.server(serverId)!.ciphertext ?? '').toBe('');
    expect(
      emu.admin.calls().passwordEvents.filter((e) => e.serverId === serverId && e.method === 'DELETE'),
    ).toHaveLength(1);
    expect(done.out + done.err).not.toContain(truth);
    expect((await cli(args.slice(0, -1))).out).toMatch(
      /escrowed and cleared; the guest may still post again/,
    );

    // A rerun sends nothing more.
    const again = await cli(args);
    expect(again.code).toBe(0);
    expect(
      emu.admin.calls().passwordEvents.filter((e) => e.serverId === serverId && e.method === 'DELETE'),
    ).toHaveLength(1);

    const linux = await cli(['process', '--project-id', emu.projectId, '--server-id', linuxIds[0]!]);
    expect(linux.code).toBe(0);
    expect(linux.out, linux.out + linux.err).toMatch(/skipped \(not-windows/);
  });

  it('process --dry-run escrows but leaves the record', async () => {
    const { windowsIds } = emu.admin.createServers({
      windows: 1,
      linux: 0,
      bootDelaySeconds: 0,
      postDelaySeconds: 3600,
    });
    const serverId = windowsIds[0]!;
    emu.admin.guestPost(serverId);
    const run = await cli(['process', '--project-id', emu.projectId, '--server-id', serverId, '--dry-run']);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/dry run, record NOT cleared/);
    expect(emu.admin.server(serverId)!.ciphertext).toBeTruthy();
  });

  it('status lists servers with record and escrow state; decrypt needs --reveal and prints the password', async () => {
    const status = await cli(['status', '--project-id', emu.projectId, '--json']);
    expect(status.code).toBe(0);
    const rows = JSON.parse(status.out).servers as Array<{
      serverId: string;
      record: string;
      escrowVersions: number;
    }>;
    const cleared = rows.filter((r) => r.record === 'cleared' && r.escrowVersions === 1);
    const present = rows.filter((r) => r.record === 'present');
    expect(cleared.length, status.out).toBeGreaterThanOrEqual(1);
    expect(present.length).toBeGreaterThanOrEqual(1);

    const keyFile = join(dir, 'key.pem');
    await writeFile(keyFile, emu.admin.decryptKey().privateKeyPem, { mode: 0o600 });
    const serverId = cleared[0]!.serverId;
    const decrypt = ['decrypt', '--project-id', emu.projectId, '--server-id', serverId, '--key', keyFile];
    const refused = await cli(decrypt);
    expect(refused.code).toBe(2);
    expect(refused.out).toBe('');
    const shown = await cli([...decrypt, '--reveal']);
    expect(shown.code).toBe(0);
    expect(shown.out.trim()).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(shown.err).not.toContain(shown.out.trim());
  });

  it("status shows each server's exposure bounds from the local stack's status board", async () => {
    const listed = JSON.parse(
      (await cli(['status', '--project-id', emu.projectId, '--no-record-check', '--json'])).out,
    ).servers as Array<{ serverId: string; exposure: unknown }>;
    const serverId = listed[0]!.serverId;
    const stateDir = join(dir, 'board');
    await mkdir(stateDir, { recursive: true });
    const t = (s: number): string => new Date(Date.parse('2026-01-01T00:00:00Z') + s * 1000).toISOString();
    const db = new SqliteDatabase(join(stateDir, STATE_DB_FILE));
    sqliteBoardStore(db).save([
      {
        serverId,
        projectId: emu.projectId,
        region: emu.region,
        state: 'cleared',
        firstSeenAt: t(0),
        updatedAt: t(140),
        source: 'direct',
        attempts: 3,
        activeSince: t(0),
        lastEmptyCheckAt: t(100),
        foundAt: t(130),
        clearedAt: t(140),
        postedHintAt: t(128),
      },
    ]);
    db.close();
    const status = ['status', '--project-id', emu.projectId, '--no-record-check', '--state-dir', stateDir];
    const json = await cli([...status, '--json']);
    const row = (
      JSON.parse(json.out).servers as Array<{ serverId: string; exposure: unknown; notified: boolean }>
    ).find((r) => r.serverId === serverId);
    expect(row).toMatchObject({ exposure: { minSeconds: 10, maxSeconds: 40, open: false }, notified: true });
    const table = await cli(status);
    expect(table.out).toMatch(/EXPOSURE\s+NOTIFIED/);
    expect(table.out).toMatch(new RegExp(`${serverId}.*10 s – 40 s\\s+yes`));
    // Without a board the column is empty, not an error.
    const none = await cli([
      'status',
      '--project-id',
      emu.projectId,
      '--no-record-check',
      '--state-dir',
      join(dir, 'nothing'),
      '--json',
    ]);
    expect(none.code).toBe(0);
    expect(
      (JSON.parse(none.out).servers as Array<{ exposure: unknown }>).every((r) => r.exposure === null),
    ).toBe(true);
  });

  it('looks the project id up in IAM when none is given', async () => {
    const run = await cli(['status', '--no-record-check', '--json']);
    expect(run.code, run.err).toBe(0);
    expect(JSON.parse(run.out).projectId).toBe(emu.projectId);
  });

  it('sweep --dry-run counts without queueing; sweep queues into the local durable queue', async () => {
    emu.admin.createServers({ windows: 2, linux: 1, bootDelaySeconds: 0, postDelaySeconds: 3600 });
    const dry = await cli(['sweep', '--project-id', emu.projectId, '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    const report = JSON.parse(dry.out);
    expect(report.dryRun).toBe(true);
    const wouldQueue = report.totals.enqueued as number;
    // The three new servers, plus the one cleared above: done, or queued again while its launch
    // watch runs (its clear was not known to be the launch's own post).
    expect(wouldQueue).toBeGreaterThanOrEqual(3);
    expect(wouldQueue + (report.totals.skipped['already-cleared'] ?? 0)).toBeGreaterThanOrEqual(4);

    const real = await cli(['sweep', '--project-id', emu.projectId, '--json']);
    expect(real.code).toBe(0);
    expect(JSON.parse(real.out).totals.enqueued).toBe(wouldQueue);
  });
});

describe('hostile command-line input', () => {
  const hostileIds = [
    '../../etc/passwd',
    '..',
    '5f8c6d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6/../x',
    '5f8c6d3a%2F1b2c',
    '5f8c6d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6?x=1',
    '5f8c6d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6#frag',
    '5f8c6d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6 ',
    ' 5f8c6d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6',
    '5f8c6d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6\n',
    '5f8c6d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6\u0000',
    'a'.repeat(65),
    'not-a-uuid',
    '5F8C6D3A_1B2C_4D5E_8F90_A1B2C3D4E5F6',
    '%2e%2e%2f',
    '\\..\\..\\windows',
    'http://169.254.169.254/',
    '5f8c6d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6&project_id=x',
    '５f8c6d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6',
  ];

  it.each(hostileIds)('process --server-id %j is refused with exit 2 and no request', async (bad) => {
    const before = emu.admin.calls().passwordEvents.length;
    const run = await cli(['process', '--project-id', emu.projectId, '--server-id', bad]);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/--server-id: server id/);
    expect(emu.admin.calls().passwordEvents.length).toBe(before);
  });

  it.each(['../x', 'abc/def', '%2F', 'p?x', ''])('--project-id %j is refused with exit 2', async (bad) => {
    const run = await cli(['status', '--project-id', bad, '--no-record-check']);
    expect(run.code).toBe(2);
  });

  it.each([
    ['demo', '--windows', ''],
    ['demo', '--time-scale', '0'],
    ['demo', '--seed', 'x'],
    ['serve', '--sweep-interval', ' '],
    ['serve', '--time-scale', '0.5'],
  ])('%s %s %j is a usage error (exit 2) before anything starts', async (command, flag, bad) => {
    const run = await cli([command, flag, bad]);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(new RegExp(`${flag} expects (a number|an integer) (of at least|from) `));
  });

  it.each(['../x', 'cn-north-4/..', 'CN NORTH', 'x?y'])('--region %j is refused with exit 2', async (bad) => {
    const run = await cli(['status', '--region', bad, '--project-id', emu.projectId, '--no-record-check']);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/region/i);
    expect(run.err).toMatch(/cn-north-4/);
  });

  it('names the flag, not the variable it is copied into, for a malformed --project-id', async () => {
    const run = await cli(['status', '--project-id', 'abc/def', '--no-record-check']);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/^error: --project-id: project id contains a path separator/);
    expect(run.err).not.toContain('HUAWEICLOUD_SDK_PROJECT_ID');
  });

  it.each(['cn-north-4\n', ' cn-north-4', 'cn-north-4\r', 'cn-north-4\t'])(
    '--region %j is refused, not trimmed',
    async (bad) => {
      const before = emu.admin.calls().passwordEvents.length;
      const run = await cli(['status', '--region', bad, '--project-id', emu.projectId, '--no-record-check']);
      expect(run.code).toBe(2);
      expect(run.err).toMatch(/^error: --region: region contains (whitespace|a control character)/);
      expect(emu.admin.calls().passwordEvents.length).toBe(before);
    },
  );

  it.each([
    [['process', '--server-idd', 'x'], '--server-id'],
    [['process', '--projectid', 'x'], '--project-id'],
    [['status', '--no-recordcheck'], '--no-record-check'],
    [['demo', '--window', '2'], '--windows'],
    [['decrypt', '--reveall'], '--reveal'],
  ])('an unknown flag %j suggests %s, without Node parseArgs text', async (argv, suggestion) => {
    const run = await cli(argv);
    expect(run.code).toBe(2);
    expect(run.err).toContain(`Did you mean "${suggestion}"?`);
    expect(run.err).not.toMatch(/positional argument|ERR_PARSE_ARGS/);
  });

  it.each([
    ['procss', 'process'],
    ['stauts', 'status'],
    ['swep', 'sweep'],
    ['decryp', 'decrypt'],
    ['serv', 'serve'],
  ])('a typo in a command name (%s) suggests %s', async (typo, command) => {
    const run = await cli([typo]);
    expect(run.code).toBe(2);
    expect(run.err).toContain(`Did you mean "${command}"?`);
  });

  it('an option without its value says so', async () => {
    const run = await cli(['process', '--server-id']);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/^error: --server-id needs a value/);
  });

  it.each([
    ['status', '--project-id', 'p1', 'junk'],
    ['process', 'extra', '--server-id', '5f8c6d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6'],
    ['demo', '8'],
    ['sweep', '--dry-run', 'now'],
  ])('positional junk after a command (%j …) is refused with exit 2', async (...argv) => {
    const run = await cli(argv);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/unexpected argument "/);
  });

  it.each(['2.5', '1e9', '1e2', '0x10', '1001', 'Infinity', ' 3'])(
    'demo --windows %j is a usage error (exit 2)',
    async (bad) => {
      const run = await cli(['demo', '--windows', bad]);
      expect(run.code).toBe(2);
      expect(run.err).toMatch(/--windows expects an integer from 0 to 1000, got/);
    },
  );

  it('a missing or unreadable --key file is a usage error (exit 2) with a clear message', async () => {
    const serverId = '5f8c6d3a-1b2c-4d5e-8f90-a1b2c3d4e5f6';
    const base = ['decrypt', '--project-id', emu.projectId, '--server-id', serverId, '--reveal'];
    const missing = await cli([...base, '--key', join(dir, 'no-such-key.pem')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/--key ".*no-such-key\.pem" cannot be read \(no such file\)/);
    expect(missing.err).not.toContain('ENOENT');
    const directory = await cli([...base, '--key', dir]);
    expect(directory.code).toBe(2);
    expect(directory.err).toMatch(/cannot be read \(it is a directory\)/);
  });

  it('process says it keeps checking while it waits, and "try again" only when it hands back 75', () => {
    const outcome = { kind: 'not-ready', reason: 'not-posted', retryAfterSeconds: 5 } as const;
    expect(describeWait('s1', outcome)).toBe(
      's1: not ready (not-posted); checking again by itself in about 5s',
    );
    expect(describeWait('s1', outcome)).not.toMatch(/try again/);
    expect(describeOutcome('s1', outcome)).toMatch(/try again/);
  });

  it('status strips terminal control sequences from server names', async () => {
    const { serverIds } = emu.admin.createServers({
      windows: 1,
      linux: 0,
      namePrefix: 'evil\u001b]0;pwned\u0007\u001b[2J\u009b31m\u202e',
    });
    const run = await cli(['status', '--project-id', emu.projectId, '--no-record-check']);
    expect(run.code, run.err).toBe(0);
    const line = run.out.split('\n').find((l) => l.startsWith(serverIds[0]!))!;
    expect(line).toContain('evil?]0;pwned??[2J?31m?');
    expect(run.out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    // JSON escapes them instead, so nothing is lost for scripts.
    const json = await cli(['status', '--project-id', emu.projectId, '--no-record-check', '--json']);
    expect(
      JSON.parse(json.out).servers.some((s: { name: string }) => s.name.includes('\u001b]0;pwned')),
    ).toBe(true);
  });

  it('serve against the real cloud refuses to start without an SMN topic allow-list', async () => {
    const run = await cli(['serve', '--port', '0', '--state-dir', join(dir, 'serve-real')], {
      HUAWEICLOUD_BMS_ENDPOINT: '',
      HUAWEICLOUD_IAM_ENDPOINT: '',
      HUAWEICLOUD_SDK_PROJECT_ID: emu.projectId,
    });
    expect(run.code).toBe(2);
    expect(run.err).toMatch(/SMN_TOPIC_URN_ALLOWLIST must list the SMN topic URNs this webhook accepts/);
    expect(run.err).toMatch(/Set it to \* to accept any topic/);
  });
});
