/**
 * The status board is a view the local stack rebuilds from its own saved file after a
 * restart, so redeliveries (a crash between recording an outcome and acking the message)
 * must leave it telling the truth.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StatusBoard, sqliteBoardStore } from '../../../lib/local/status-board.ts';
import type { Outcome } from '../../../lib/pipeline/outcome.ts';
import { SqliteDatabase } from '../../../lib/queue/sqlite-database.ts';
import type { WorkItem } from '../../../lib/queue/work-item.ts';

const item: WorkItem = {
  v: 1,
  projectId: '0123456789abcdef0123456789abcdef',
  region: 'cn-north-4',
  serverId: '11111111-2222-3333-4444-555555555555',
  firstSeenAt: '2026-11-28T08:00:00.000Z',
  attempt: 0,
  source: 'smn',
};
const cleared: Outcome = {
  kind: 'cleared',
  versionId: 'v-1',
  sha256: 'a'.repeat(64),
  exposure: { foundAt: '2026-11-28T08:05:00.000Z', clearedAt: '2026-11-28T08:05:01.000Z', passwordChecks: 3 },
  newVersion: true,
};
const alreadyCleared: Outcome = { kind: 'skipped', reason: 'already-cleared' };

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('StatusBoard', () => {
  it('keeps a cleared server cleared when a redelivery finds the record already gone', () => {
    const board = new StatusBoard();
    board.noteOutcome(item, cleared);
    board.noteOutcome({ ...item, attempt: 1 }, alreadyCleared);
    expect(board.get(item.serverId)).toMatchObject({ state: 'cleared', versionId: 'v-1', passwordChecks: 3 });
  });

  it('a reinstall (launched_at moved on) makes a cleared server pending again (issue 9)', () => {
    const board = new StatusBoard();
    const L1 = '2026-11-28T08:00:00.000Z';
    const L2 = '2026-11-28T09:00:00.000Z';
    board.noteOutcome(item, cleared, { ...item, launchedAt: L1 });
    const waiting: Outcome = { kind: 'not-ready', reason: 'not-posted', retryAfterSeconds: 60 };
    board.noteOutcome({ ...item, attempt: 1 }, waiting, { ...item, attempt: 1, launchedAt: L1 });
    expect(board.get(item.serverId)).toMatchObject({ state: 'cleared' });
    board.noteOutcome({ ...item, attempt: 2 }, waiting, { ...item, attempt: 2, launchedAt: L2 });
    expect(board.get(item.serverId)).toMatchObject({ state: 'waiting', launchedAt: L2 });
  });

  it('shows a server whose clear was never recorded (crash before the save) as cleared, not skipped', () => {
    const board = new StatusBoard();
    board.noteQueued(item);
    board.noteOutcome(item, alreadyCleared);
    expect(board.get(item.serverId)).toMatchObject({
      state: 'cleared',
      reason: 'escrowed earlier; record already gone',
    });
  });

  it('still shows other skips as skipped, and never moves a cleared server back', () => {
    const board = new StatusBoard();
    board.noteOutcome(item, { kind: 'skipped', reason: 'not-windows' });
    expect(board.get(item.serverId)).toMatchObject({ state: 'skipped', reason: 'not-windows' });

    const other = { ...item, serverId: '99999999-2222-3333-4444-555555555555' };
    board.noteOutcome(other, cleared);
    board.noteOutcome(other, { kind: 'not-ready', retryAfterSeconds: 30, reason: 'not-posted' });
    board.noteOutcome(other, { kind: 'skipped', reason: 'not-windows' });
    expect(board.get(other.serverId)?.state).toBe('cleared');
  });

  it('has the latest outcome on disk once flush resolves, and a new board loads it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'status-board-'));
    const db = new SqliteDatabase(join(dir, 'state.db'));
    const board = new StatusBoard({ store: sqliteBoardStore(db) });
    board.noteQueued(item);
    board.noteOutcome(item, cleared);
    await board.flush();
    db.close();

    const reopened = new SqliteDatabase(join(dir, 'state.db'));
    // A garbled row (hand-edited) is left out of the view rather than breaking it.
    reopened.exec(`INSERT INTO status_board VALUES ('x', '{garbled')`);
    const restarted = new StatusBoard({ store: sqliteBoardStore(reopened) });
    await restarted.load();
    expect(restarted.list().map((s) => [s.serverId, s.state])).toEqual([[item.serverId, 'cleared']]);
    reopened.close();
  });
});
