/**
 * Deterministic randomness for the emulator. Each concern (ids, delays, faults, ...)
 * draws from its own stream derived from the one seed, so turning a fault on does not
 * change which server ids or post delays a seeded run produces.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max]. */
  int(min: number, max: number): number;
  /** `length` lowercase hex characters. */
  hex(length: number): string;
  /** A version-4-shaped UUID. */
  uuid(): string;
  /** `length` characters drawn from `alphabet`. */
  chars(length: number, alphabet: string): string;
}

/** mulberry32: tiny, fast and good enough for ids, jitter and fault dice. */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const chars = (length: number, alphabet: string): string => {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(next() * alphabet.length)];
    return out;
  };
  const hex = (length: number): string => chars(length, '0123456789abcdef');
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    hex,
    chars,
    uuid: () => {
      const h = hex(32);
      const variant = '89ab'[Math.floor(next() * 4)];
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20)}`;
    },
  };
}

/** A stream seed derived from the run seed and a stream name (FNV-1a over the name). */
export function deriveSeed(seed: number, stream: string): number {
  let hash = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < stream.length; i++) {
    hash ^= stream.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** One of `options`, drawn from `random`. */
export function pick<T>(random: Random, options: readonly T[]): T {
  return options[Math.floor(random.next() * options.length)]!;
}

/**
 * A fault rate for one dimension of a seeded scenario: 0 a third of the time (so faults combine
 * in different mixes), else uniform in [0, max] to three decimals.
 */
export function faultRate(random: Random, max: number): number {
  return random.next() < 0.33 ? 0 : Math.round(random.next() * max * 1000) / 1000;
}

export interface RandomStreams {
  ids: Random;
  delays: Random;
  passwords: Random;
  faults: Random;
  smn: Random;
  requests: Random;
  traces: Random;
  /** The emulated guests' "posted" notifications: loss and delay dice. */
  posted: Random;
}

export function createStreams(seed: number): RandomStreams {
  const stream = (name: string): Random => createRandom(deriveSeed(seed, name));
  return {
    ids: stream('ids'),
    delays: stream('delays'),
    passwords: stream('passwords'),
    faults: stream('faults'),
    smn: stream('smn'),
    requests: stream('requests'),
    traces: stream('traces'),
    posted: stream('posted'),
  };
}
