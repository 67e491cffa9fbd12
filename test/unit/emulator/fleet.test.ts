import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Fleet, type ServerSpec } from '../../../emulator/fleet.ts';
import { planDelays } from '../../../emulator/post-delays.ts';
import { createRandom, createStreams } from '../../../emulator/seeded-random.ts';
import type { Clock } from '../../../lib/clock.ts';

const { publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 1024,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

function fakeClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, sleep: async () => {}, scale: 1, advance: (ms) => (now += ms) };
}

const win: ServerSpec = {
  name: 'w',
  osType: 'Windows',
  imageRef: 'win',
  flavorRef: 'f',
  keyName: 'kp',
  metadata: {},
  tags: [],
};
const MIN = 60_000;
const fixed = (boot: number, post: number) => ({
  distribution: 'fixed' as const,
  bootDelaySeconds: boot,
  postDelaySeconds: post,
});

describe('Fleet (lazy password state)', () => {
  it('applies the post at its scheduled time, whenever it is observed', () => {
    const clock = fakeClock();
    const fleet = new Fleet({ clock, random: createStreams(1), publicKeyPem: () => publicKey });
    const [server] = fleet.create([win], fixed(60, 300)).servers;
    expect(fleet.status(server!)).toBe('BUILD');
    clock.advance(MIN);
    expect(fleet.status(server!)).toBe('ACTIVE');
    clock.advance(30 * MIN);
    const record = fleet.get(server!.id)!;
    expect(record.postedAt).toBe(server!.createdAt + 6 * MIN);
    expect(record.ciphertext).not.toBeNull();
  });

  it('a DELETE at time t sees posts due before t, and a reinstall post is refused while a record exists', () => {
    const clock = fakeClock();
    const fleet = new Fleet({ clock, random: createStreams(2), publicKeyPem: () => publicKey });
    const [server] = fleet.create([win], fixed(0, 60)).servers;
    clock.advance(2 * MIN);
    fleet.clearPassword(server!.id);
    expect(fleet.get(server!.id)!.history.map((h) => h.event)).toEqual(['posted', 'cleared']);
    fleet.guestPost(server!.id);
    fleet.reinstall(server!.id, fixed(60, 60));
    expect(fleet.status(server!)).toBe('SHUTOFF');
    clock.advance(3 * MIN);
    expect(fleet.status(server!)).toBe('ACTIVE');
    expect(fleet.get(server!.id)!.history.map((h) => `${h.event}:${h.source}`)).toEqual([
      'posted:cloudbase-init',
      'cleared:delete-api',
      'posted:guest-post',
      'refused:reinstall',
    ]);
  });

  it('gives the same ids for the same seed', () => {
    const ids = (seed: number) =>
      new Fleet({ clock: fakeClock(), random: createStreams(seed), publicKeyPem: () => publicKey })
        .create([win, win], fixed(0, 0))
        .servers.map((s) => s.id);
    expect(ids(3)).toEqual(ids(3));
    expect(ids(3)).not.toEqual(ids(4));
    expect(ids(3)[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('planDelays', () => {
  it("'realistic' boots in minutes and posts mostly 5–15 minutes after ACTIVE, never past an hour", () => {
    const random = createRandom(9);
    const plans = Array.from({ length: 2000 }, () =>
      planDelays({ distribution: 'realistic', bootDelaySeconds: 0, postDelaySeconds: 0 }, random),
    );
    expect(plans.every((p) => p.bootMs >= 2 * MIN && p.bootMs <= 6 * MIN)).toBe(true);
    expect(plans.every((p) => p.postMs >= 5 * MIN && p.postMs <= 60 * MIN)).toBe(true);
    const typical = plans.filter((p) => p.postMs <= 15 * MIN).length / plans.length;
    expect(typical).toBeGreaterThan(0.75);
    expect(plans.some((p) => p.postMs > 35 * MIN)).toBe(true);
  });
});
