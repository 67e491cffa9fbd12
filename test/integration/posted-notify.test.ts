/**
 * The guest's "posted" notification end to end over loopback: the emulated guest of a server
 * whose user data carries the snippet notifies `serve`'s POST /posted a seeded 1–5 s after it
 * posts; the hint makes the hook's very next password GET the one that finds the record, long
 * before the server's own schedule would have looked again. A server without the snippet keeps
 * its schedule. Asserted on the emulator's call log (which GETs, in which order), not on time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { renderPostedSnippet } from '../../guest/posted-snippet.ts';
import { parseLocalConfig } from '../../lib/local/local-config.ts';
import { type LocalStack, startLocalStack } from '../../lib/local/local-stack.ts';
import { silentLogger } from '../../lib/observability/logger.ts';

const KEY = 'posted-notify-integration-key-0123456789abcdef';
/**
 * Once a GET finds nothing, the schedule looks again no sooner than this (emulated seconds):
 * 3 minutes real at the 5x clock below, so a loaded machine never reaches the next scheduled look.
 */
const MIN_GAP_SECONDS = 900;

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('posted notification over loopback (serve + emulated guest)', () => {
  let emulator: RunningEmulator;
  let stack: LocalStack;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'posted-notify-'));
    emulator = await startEmulator({ timeScale: 5, seed: 11, switches: { distribution: 'fixed' } });
    stack = await startLocalStack({
      config: { ...parseLocalConfig({}), port: 0, stateDir, sweepIntervalSeconds: 0, idlePollMs: 20 },
      env: {
        ESCROW_POSTED_HMAC_KEY: KEY,
        ESCROW_MIN_GAP_SECONDS: String(MIN_GAP_SECONDS),
        ESCROW_MAX_GAP_SECONDS: '3600',
        ESCROW_BUILD_POLL_SECONDS: '5',
        LOG_LEVEL: 'silent',
      },
      emulator,
      logger: silentLogger,
      sweepOnStart: false,
    });
  });

  afterAll(async () => {
    await stack?.close(2000);
    await emulator?.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('finds a notifying server with the first GET after its post; a silent one keeps its schedule', async () => {
    const userData = renderPostedSnippet({ hookUrl: `${stack.url}/posted`, hmacKey: KEY });
    const delays = { bootDelaySeconds: 20, postDelaySeconds: 10_000_000, distribution: 'fixed' as const };
    const notifying = emulator.admin.createServers({ windows: 1, linux: 0, userData, ...delays })
      .windowsIds[0]!;
    const silent = emulator.admin.createServers({ windows: 1, linux: 0, namePrefix: 'silent', ...delays })
      .windowsIds[0]!;

    // Both servers ACTIVE and waiting; the notifying one looked at once and found it empty. (With
    // notifications on, a silent server's schedule may not have spent a GET yet.)
    const waitingForPost = (id: string) => () => stack.board.get(id)?.reason === 'not-posted';
    await until(
      'both servers waiting, the notifying one checked once',
      () =>
        waitingForPost(notifying)() &&
        (stack.board.get(notifying)?.passwordChecks ?? 0) >= 1 &&
        waitingForPost(silent)(),
    );
    expect(emulator.admin.guestPost(notifying).accepted).toBe(true);
    expect(emulator.admin.guestPost(silent).accepted).toBe(true);

    // Cleared, possibly still in the repost watch that follows every clear.
    const cleared = (id: string) => {
      const status = stack.board.get(id);
      return status?.state === 'cleared' || status?.reason?.startsWith('cleared;') === true;
    };
    await until('the notifying server cleared', () => cleared(notifying));
    const gets = (id: string) =>
      emulator.admin.calls().passwordEvents.filter((e) => e.serverId === id && e.method === 'GET');
    const truth = emulator.admin.server(notifying)!;
    const afterPost = gets(notifying).filter((e) => e.time >= truth.postedAt!);
    // The first GET after the post found it: no GET was spent on the wait.
    expect(afterPost[0]).toMatchObject({ status: 200, returnedPassword: true });
    const before = gets(notifying).filter((e) => e.time < truth.postedAt!);
    expect(before).toHaveLength(1);
    // And it came from the hint, not the schedule: well inside the 900 s gap after that check.
    expect(afterPost[0]!.time - before[0]!.time).toBeLessThan(MIN_GAP_SECONDS * 1000);
    expect(truth.clearedAt).not.toBeNull();

    const notes = emulator.admin.postedNotifications();
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ serverId: notifying, outcome: 'delivered', status: 202 });
    const delaySeconds = (notes[0]!.time - truth.postedAt!) / 1000;
    expect(delaySeconds).toBeGreaterThanOrEqual(1);

    // The silent server had no hint and keeps its own schedule: its looks (one, or more on a
    // slow machine, where more emulated time passes) are the schedule's, a gap or more apart.
    expect(stack.board.get(silent)?.postedHintAt).toBeUndefined();
    const silentTimes = gets(silent).map((e) => e.time);
    for (let i = 1; i < silentTimes.length; i++)
      expect(silentTimes[i]! - silentTimes[i - 1]!).toBeGreaterThanOrEqual(MIN_GAP_SECONDS * 1000 - 1000);
  });
});
