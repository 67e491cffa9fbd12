import { describe, expect, it } from 'vitest';
import { tagValue } from '../../../lib/huawei/bms-server.ts';
import type { BmsServer } from '../../../lib/huawei/bms-types.ts';
import { HuaweiApiError } from '../../../lib/huawei/errors.ts';
import {
  applyDeadline,
  assessPassword,
  assessServer,
  checkProject,
  guestSettled,
  outcomeForHuaweiError,
  planPasswordCheck,
  type ServerPolicy,
  watchOver,
} from '../../../lib/pipeline/decide.ts';
import { parseSchedulerConfig } from '../../../lib/pipeline/pipeline-config.ts';
import { createPollScheduler } from '../../../lib/pipeline/poll-schedule.ts';
import { workItem as item, T0 } from './work-item-fixture.ts';

const optOut: ServerPolicy = { optMode: 'opt-out', optTagKey: 'password-escrow', allowedProjectIds: [] };
const scheduler = createPollScheduler(parseSchedulerConfig({}));
const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

function server(extra: Partial<BmsServer> = {}): BmsServer {
  return {
    id: 's1',
    name: 'win-1',
    status: 'ACTIVE',
    metadata: { os_type: 'Windows' },
    'OS-SRV-USG:launched_at': '2026-01-01T00:05:00.000000',
    ...extra,
  };
}

describe('assessServer', () => {
  it('starts the password phase at launched_at (UTC, no zone on the wire)', () => {
    expect(assessServer(server(), item(), optOut, T0 + 3600e3)).toEqual({
      kind: 'eligible',
      activeSinceMs: T0 + 300e3,
    });
  });

  it('never lets a BUILD server reach the password phase', () => {
    for (const tags of [undefined, ['password-escrow=enabled'], ['a=b']])
      expect(assessServer(server({ status: 'BUILD', tags }), item(), optOut, T0).kind).toBe('building');
  });

  it('treats an OS reinstall in progress (SHUTOFF, task_state rebuilding) like BUILD', () => {
    const rebuilding = server({ status: 'SHUTOFF', 'OS-EXT-STS:task_state': 'rebuilding' });
    expect(assessServer(rebuilding, item(), optOut, T0).kind).toBe('building');
    expect(assessServer(server({ status: 'SHUTOFF' }), item(), optOut, T0).kind).toBe('eligible');
  });

  it.each([
    [{ status: 'DELETED' }, 'server-deleted'],
    [{ status: 'ERROR' }, 'server-error'],
    [{ metadata: { os_type: 'Linux' } }, 'not-windows'],
    [{ metadata: {} }, 'not-windows'],
    [{ tags: ['password-escrow=skip'] }, 'opted-out'],
  ] as Array<[Partial<BmsServer>, string]>)('skips %o as %s', (extra, reason) => {
    expect(assessServer(server(extra), item(), optOut, T0)).toMatchObject({ kind: 'skipped', reason });
  });

  it('falls back to image.__os_type', () => {
    const s = server({ metadata: {}, image: { __os_type: 'Windows' } });
    expect(assessServer(s, item(), optOut, T0 + 3600e3).kind).toBe('eligible');
  });

  it('in opt-in mode requires the enabled tag', () => {
    const optIn: ServerPolicy = { ...optOut, optMode: 'opt-in' };
    expect(assessServer(server(), item(), optIn, T0)).toMatchObject({ reason: 'not-opted-in' });
    expect(assessServer(server({ tags: ['password-escrow=enabled'] }), item(), optIn, T0).kind).toBe(
      'eligible',
    );
  });

  it('skips projects outside the allow-list before any call', () => {
    expect(checkProject(item(), { ...optOut, allowedProjectIds: ['other'] })).toMatchObject({
      reason: 'project-not-allowed',
    });
    expect(checkProject(item(), { ...optOut, allowedProjectIds: ['p1'] })).toBeUndefined();
  });
});

describe('tagValue', () => {
  it('reads key=value strings, bare keys and {key,value} objects', () => {
    expect(tagValue(['x=1', 'password-escrow = skip'], 'password-escrow')).toBe('skip');
    expect(tagValue(['password-escrow'], 'password-escrow')).toBe('');
    expect(tagValue([{ key: 'password-escrow', value: 'enabled' }], 'password-escrow')).toBe('enabled');
    expect(tagValue(undefined, 'password-escrow')).toBeUndefined();
  });
});

describe('planPasswordCheck', () => {
  const base = { activeSinceMs: T0, deadlineMs: T0 + 7200e3, scheduler, rateWaitMs: 0 };

  it('waits for the first probability slice after ACTIVE without a GET', () => {
    const plan = planPasswordCheck({ ...base, item: item(), nowMs: T0 + 10e3 });
    expect(plan).toMatchObject({ kind: 'wait', reason: 'not-posted' });
  });

  it('defers a due finding GET when the rate limiter is exhausted', () => {
    const plan = planPasswordCheck({ ...base, item: item(), nowMs: T0 + 1800e3, rateWaitMs: 120_000 });
    expect(plan).toMatchObject({ kind: 'wait', reason: 'deferred' });
    expect(planPasswordCheck({ ...base, item: item(), nowMs: T0 + 1800e3, rateWaitMs: 500 }).kind).toBe(
      'get',
    );
  });

  it('yields the verify GET once callers queue for the budget, not at the next token', () => {
    const verify = item({ phase: 'verify', sha256: SHA_A });
    expect(planPasswordCheck({ ...base, item: verify, nowMs: T0, rateWaitMs: 20_000 }).kind).toBe('wait');
    expect(planPasswordCheck({ ...base, item: verify, nowMs: T0, rateWaitMs: 1_250 }).kind).toBe('get');
    expect(planPasswordCheck({ ...base, item: verify, nowMs: T0 }).kind).toBe('get');
    // Near its deadline it stops yielding, or a long rush would starve it into the DLQ.
    const late = base.deadlineMs - 10 * 60_000;
    expect(planPasswordCheck({ ...base, item: verify, nowMs: late, rateWaitMs: 20_000 }).kind).toBe('get');
  });

  it('looks at once on a spare token, whatever the schedule; a verify still yields under load', () => {
    const early = { ...base, item: item(), nowMs: T0 + 10e3 };
    expect(planPasswordCheck(early).kind).toBe('wait');
    expect(planPasswordCheck({ ...early, spareToken: true }).kind).toBe('get');
    const verify = item({ phase: 'verify', sha256: SHA_A });
    expect(
      planPasswordCheck({ ...base, item: verify, nowMs: T0, rateWaitMs: 20_000, spareToken: true }).kind,
    ).toBe('wait');
  });

  it('retries a found-but-not-cleared record at once', () => {
    const found = item({ sha256: SHA_A, lastPasswordCheckAt: new Date(T0 + 1000e3).toISOString() });
    expect(planPasswordCheck({ ...base, item: found, nowMs: T0 + 1001e3 }).kind).toBe('get');
  });
});

describe('assessPassword', () => {
  const retrievedLater = { latestRetrievedAt: new Date(T0 + 900e3).toISOString(), uncleared: ['v1'] };

  it('escrows a posted ciphertext', () => {
    expect(assessPassword({ item: item(), sha256: SHA_A, activeSinceMs: T0 })).toEqual({
      kind: 'escrow',
      newVersion: false,
    });
  });

  it('reads an empty GET as not posted when nothing was escrowed', () => {
    expect(assessPassword({ item: item(), sha256: undefined, activeSinceMs: T0 }).kind).toBe('not-posted');
  });

  it('reads an empty GET as already cleared when this boot was escrowed (crash rerun, duplicate)', () => {
    expect(
      assessPassword({ item: item(), sha256: undefined, activeSinceMs: T0, history: retrievedLater }),
    ).toEqual({
      kind: 'already-cleared',
      uncleared: ['v1'],
    });
  });

  it('keeps waiting when the escrow predates this boot (a reinstall moved launched_at)', () => {
    const rebooted = T0 + 5000e3;
    expect(
      assessPassword({ item: item(), sha256: undefined, activeSinceMs: rebooted, history: retrievedLater })
        .kind,
    ).toBe('not-posted');
  });

  it('a late or duplicated event for a cleared install is already cleared, whatever its source', () => {
    for (const source of ['smn', 'direct', 'sweep', 'cli'] as const) {
      const late = item({ source, firstSeenAt: new Date(T0 + 5000e3).toISOString() });
      expect(
        assessPassword({ item: late, sha256: undefined, activeSinceMs: T0, history: retrievedLater }).kind,
      ).toBe('already-cleared');
    }
  });

  it('in verify: empty is done, the same ciphertext waits out the grace period, a different one is escrowed', () => {
    const sent = new Date(T0).toISOString();
    const verify = item({ phase: 'verify', sha256: SHA_A, deleteSentAt: sent });
    const timing = (nowMs: number) => ({ nowMs, deleteGraceSeconds: 60, postClearWatchSeconds: 3600 });
    expect(
      assessPassword({ item: verify, sha256: undefined, activeSinceMs: T0, timing: timing(T0) }).kind,
    ).toBe('verified');
    expect(
      assessPassword({ item: verify, sha256: SHA_A, activeSinceMs: T0, timing: timing(T0 + 5e3) }),
    ).toEqual({
      kind: 'clear-pending',
      retryAfterSeconds: 55,
    });
    expect(
      assessPassword({ item: verify, sha256: SHA_B, activeSinceMs: T0, timing: timing(T0 + 5e3) }),
    ).toEqual({
      kind: 'escrow',
      newVersion: true,
    });
    // Past the grace period the DELETE was lost (or is very late): the same ciphertext goes round again.
    expect(
      assessPassword({ item: verify, sha256: SHA_A, activeSinceMs: T0, timing: timing(T0 + 60e3) }).kind,
    ).toBe('escrow');
  });

  it('an empty record is done only for the launch the newest escrow names, once its own post cannot come', () => {
    const L1 = new Date(T0).toISOString();
    const L2 = new Date(T0 + 7200e3).toISOString();
    const timing = (nowMs: number) => ({ nowMs, deleteGraceSeconds: 60, postClearWatchSeconds: 3600 });
    const history = (launch: string, posted: boolean) => ({
      latestRetrievedAt: new Date(T0 + 8000e3).toISOString(),
      latestLaunchedAt: launch,
      latestPostedInLaunch: posted,
      uncleared: [],
    });
    const at = item({ launchedAt: L2 });
    const now = T0 + 7300e3;
    // Escrowed in an earlier launch, even if read after this one began (a skewed clock): pending.
    expect(
      assessPassword({
        item: at,
        sha256: undefined,
        activeSinceMs: T0,
        history: history(L1, true),
        timing: timing(now),
      }).kind,
    ).toBe('not-posted');
    expect(
      assessPassword({
        item: at,
        sha256: undefined,
        activeSinceMs: T0,
        history: history(L2, true),
        timing: timing(now),
      }).kind,
    ).toBe('already-cleared');
    // This launch's clear of a record it may not have posted: watch until its post cannot come.
    expect(
      assessPassword({
        item: at,
        sha256: undefined,
        activeSinceMs: T0,
        history: history(L2, false),
        timing: timing(now),
      }).kind,
    ).toBe('watch');
    expect(
      assessPassword({
        item: at,
        sha256: undefined,
        activeSinceMs: T0,
        history: history(L2, false),
        timing: timing(T0 + 7200e3 + 3600e3),
      }).kind,
    ).toBe('already-cleared');
  });

  it('a redelivered find-phase copy keeps the repost watch after a clear it finds in the ledger (sim seed 17)', () => {
    const L1 = new Date(T0).toISOString();
    const found = T0 + 100e3;
    const history = {
      latestRetrievedAt: new Date(found).toISOString(),
      latestLaunchedAt: L1,
      latestPostedInLaunch: true,
      uncleared: [],
    };
    const timing = (nowMs: number) => ({
      nowMs,
      deleteGraceSeconds: 120,
      postClearWatchSeconds: 0,
      repostWatchSeconds: 600,
    });
    const at = item({ launchedAt: L1 });
    const assess = (nowMs: number) =>
      assessPassword({ item: at, sha256: undefined, activeSinceMs: T0, history, timing: timing(nowMs) });
    // Before: 'already-cleared' at once, and the guest's retried POST 3 minutes later stayed exposed.
    expect(assess(found + 20e3)).toEqual({ kind: 'watch', untilMs: found + 600e3 });
    expect(assess(found + 600e3).kind).toBe('already-cleared');
  });

  it('a guest that said its password plugin is done ends the repost and launch watches, for its launch only', () => {
    const L1 = new Date(T0).toISOString();
    const L2 = new Date(T0 + 3600e3).toISOString();
    const found = T0 + 100e3;
    const settledAt = new Date(found - 3e3).toISOString();
    const history = {
      latestRetrievedAt: new Date(found).toISOString(),
      latestLaunchedAt: L1,
      latestPostedInLaunch: false,
      uncleared: [],
    };
    const timing = {
      nowMs: found + 20e3,
      deleteGraceSeconds: 120,
      postClearWatchSeconds: 3600,
      repostWatchSeconds: 600,
    };
    const assess = (at: ReturnType<typeof item>) =>
      assessPassword({ item: at, sha256: undefined, activeSinceMs: T0, history, timing });
    expect(assess(item({ launchedAt: L1 })).kind).toBe('watch');
    expect(assess(item({ launchedAt: L1, guestSettledAt: settledAt })).kind).toBe('already-cleared');
    // After the verify GET: watching without the guest's word, done with it.
    const cleared = {
      launchedAt: L1,
      clearedAt: new Date(found + 10e3).toISOString(),
      postedInLaunch: false,
    };
    expect(watchOver(item(cleared), timing)).toBe(false);
    expect(guestSettled(item({ ...cleared, guestSettledAt: settledAt }))).toBe(true);
    expect(watchOver(item({ ...cleared, guestSettledAt: settledAt }), timing)).toBe(true);
    // A reinstall after the notification: the new launch has said nothing.
    expect(guestSettled(item({ ...cleared, launchedAt: L2, guestSettledAt: settledAt }))).toBe(false);
    expect(watchOver(item({ ...cleared, launchedAt: L2, guestSettledAt: settledAt }), timing)).toBe(false);
    // Without a known launch the word cannot be placed.
    expect(guestSettled(item({ guestSettledAt: settledAt }))).toBe(false);
  });
});

describe('applyDeadline and error mapping', () => {
  it('retries a transient failure until the deadline, then surfaces it as permanent', () => {
    const failed = {
      kind: 'failed',
      reason: 'escrow-write-failed',
      permanent: false,
      detail: 'EIO',
    } as const;
    expect(applyDeadline(failed, item(), T0 + 100, T0 + 200)).toBe(failed);
    expect(applyDeadline(failed, item(), T0 + 200, T0 + 200)).toEqual({
      ...failed,
      permanent: true,
      detail: 'EIO; deadline passed',
    });
  });

  it('turns a late not-ready into a permanent deadline failure', () => {
    const notReady = { kind: 'not-ready', reason: 'not-posted', retryAfterSeconds: 60 } as const;
    expect(applyDeadline(notReady, item(), T0 + 100, T0 + 200)).toBe(notReady);
    expect(applyDeadline(notReady, item(), T0 + 200, T0 + 200)).toMatchObject({
      kind: 'failed',
      reason: 'deadline-exceeded',
      permanent: true,
    });
  });

  it('never retries auth failures and waits out throttling', () => {
    const auth = new HuaweiApiError({ kind: 'auth', api: 'password.get', status: 401 });
    expect(outcomeForHuaweiError(auth, 30)).toMatchObject({
      kind: 'failed',
      reason: 'auth-failed',
      permanent: true,
    });
    const throttled = new HuaweiApiError({ kind: 'throttled', api: 'password.get', status: 429 });
    expect(outcomeForHuaweiError(throttled, 30)).toEqual({
      kind: 'not-ready',
      reason: 'throttled',
      retryAfterSeconds: 30,
    });
    const server = new HuaweiApiError({ kind: 'server', api: 'server.get', status: 503 });
    expect(outcomeForHuaweiError(server, 30)).toMatchObject({ kind: 'failed', permanent: false });
  });
});
