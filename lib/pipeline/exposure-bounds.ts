/**
 * The exposure window as the hook can know it. It never sees the post itself, only its own
 * GETs: the post happened after the last GET that found nothing (or after the server became
 * ACTIVE, when the first look found it) and by the GET that found it. The window ends at our
 * DELETE, or runs on while the record is still there. So the exposure is a range, not a value.
 */
export interface ExposureFacts {
  /** The GET that found the record. */
  foundAt?: string | undefined;
  /** The last GET that found nothing (absent: the first look found it). */
  lastEmptyCheckAt?: string | undefined;
  /** When the server was first seen ACTIVE: nothing is posted before the first boot ends. */
  activeSince?: string | undefined;
  /** Our DELETE (absent: not cleared yet). */
  clearedAt?: string | undefined;
}

export interface ExposureBounds {
  /** At least this long (DELETE or now, minus the finding GET). */
  minSeconds: number;
  /** At most this long; undefined when nothing bounds the post from below. */
  maxSeconds: number | undefined;
  /** Not cleared yet: the window is still open at `nowMs`. */
  open: boolean;
}

const parse = (iso: string | undefined): number => (iso === undefined ? Number.NaN : Date.parse(iso));

export function exposureBounds(facts: ExposureFacts, nowMs: number): ExposureBounds | undefined {
  const found = parse(facts.foundAt);
  if (!Number.isFinite(found)) return undefined;
  const cleared = parse(facts.clearedAt);
  const end = Number.isFinite(cleared) ? cleared : nowMs;
  const emptyAt = parse(facts.lastEmptyCheckAt);
  const postedAfter = Number.isFinite(emptyAt) ? emptyAt : parse(facts.activeSince);
  const minSeconds = Math.max(0, (end - found) / 1000);
  return {
    minSeconds,
    maxSeconds: Number.isFinite(postedAfter) ? Math.max(minSeconds, (end - postedAfter) / 1000) : undefined,
    open: !Number.isFinite(cleared),
  };
}

/** Seconds as "42 s", "3.5 min" or "1.2 h". */
export function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** "12 s – 3.5 min", "≥ 12 s" (no lower bound on the post), with "so far" while still open. */
export function formatExposure(bounds: ExposureBounds | undefined): string {
  if (!bounds) return '';
  const range =
    bounds.maxSeconds === undefined
      ? `≥ ${formatSeconds(bounds.minSeconds)}`
      : formatSeconds(bounds.maxSeconds) === formatSeconds(bounds.minSeconds)
        ? formatSeconds(bounds.minSeconds)
        : `${formatSeconds(bounds.minSeconds)} – ${formatSeconds(bounds.maxSeconds)}`;
  return bounds.open ? `${range} so far` : range;
}
