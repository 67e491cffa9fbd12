/**
 * Under a compressed clock the escrow stores still stamp versions with wall time (file mtime,
 * Secrets Manager CreatedDate) while the emulator's launched_at runs on the compressed clock.
 * The sweep compares the two to decide "already cleared since the last launch", so without
 * help every cleared server would look relaunched and be re-enqueued. In production both are
 * wall clocks; this maps the store's stamps onto the compressed clock so the sweep compares
 * like with like. (Only the sweep's view is mapped; the verdict reads the raw store.)
 */
import type { Clock } from '../../lib/clock.ts';
import type { EscrowStore } from '../../lib/escrow/escrow-store.ts';

/** The epoch of a scaledClock: now = epoch + (wall − epoch) × scale. */
export function clockEpoch(clock: Clock): number {
  if (clock.scale === 1) return 0;
  const wall = Date.now();
  const now = clock.now();
  return (clock.scale * wall - now) / (clock.scale - 1);
}

/** Wall-clock epoch milliseconds → the same instant on `clock`. */
export function toClockTime(clock: Clock, wallMs: number, epoch = clockEpoch(clock)): number {
  return clock.scale === 1 ? wallMs : epoch + (wallMs - epoch) * clock.scale;
}

export function clockAlignedLedger(store: EscrowStore, clock: Clock): EscrowStore {
  const epoch = clockEpoch(clock);
  return {
    kind: store.kind,
    put: (...args) => store.put(...args),
    read: (...args) => store.read(...args),
    markCleared: (...args) => store.markCleared(...args),
    async ledger(ref, options) {
      const ledger = await store.ledger(ref, options);
      if (!ledger) return ledger;
      return {
        ...ledger,
        versions: ledger.versions.map((v) => {
          const wall = v.createdAt === undefined ? Number.NaN : Date.parse(v.createdAt);
          return Number.isFinite(wall)
            ? { ...v, createdAt: new Date(toClockTime(clock, wall, epoch)).toISOString() }
            : v;
        }),
      };
    },
  };
}
