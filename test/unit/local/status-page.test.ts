import { describe, expect, it } from 'vitest';
import type { ServerStatus } from '../../../lib/local/status-board.ts';
import { exposureHistogram, renderStatusPage } from '../../../lib/local/status-page.ts';

const T = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number): string => new Date(T + s * 1000).toISOString();

function cleared(
  id: string,
  emptyAt: number,
  foundAt: number,
  clearedAt: number,
  hinted = false,
): ServerStatus {
  return {
    serverId: id,
    projectId: 'p1',
    region: 'cn-north-4',
    state: 'cleared',
    firstSeenAt: at(0),
    updatedAt: at(clearedAt),
    source: 'direct',
    attempts: 3,
    activeSince: at(0),
    lastEmptyCheckAt: at(emptyAt),
    foundAt: at(foundAt),
    clearedAt: at(clearedAt),
    postedHintAt: hinted ? at(foundAt - 1) : undefined,
  };
}

const info = {
  mode: 'emulator' as const,
  region: 'cn-north-4',
  projectId: 'p1',
  dryRun: false,
  refreshSeconds: 2,
};

describe('status page', () => {
  const servers = [cleared('s1', 100, 130, 140, true), cleared('s2', 100, 700, 710)];
  const html = renderStatusPage(servers, { ...info, generatedAt: at(1000), emulatedTimeScale: 120 });

  it("shows each server's exposure as the bounds the hook knows, and marks a notifying guest", () => {
    expect(html).toMatch(
      /data-server-id="s1"[\s\S]*?<td class="exposure"[^>]*>10 s – 40 s<\/td><td class="notified"[^>]*>yes<\/td>/,
    );
    expect(html).toMatch(/data-server-id="s2"[\s\S]*?>10 s – 10\.2 min<\/td><td class="notified"><\/td>/);
  });

  it('draws the fleet histogram as a plain SVG: no script, nothing fetched', () => {
    const svg = exposureHistogram(servers, T + 1000_000);
    expect(svg).toContain('<svg');
    expect(svg).toMatch(/data-bin="≤60 s" data-count="1"/);
    expect(svg).toMatch(/data-bin="≤20.0 min" data-count="1"/);
    expect(html).not.toMatch(/<script|href=|src=/i);
    expect(exposureHistogram([], T)).toBe('');
  });

  it('labels emulated times as such, and only the wall clock goes unlabelled', () => {
    expect(html).toContain('Times are emulated');
    expect(html).toMatch(/First seen <span class="clock">\(emulated\)<\/span>/);
    const wall = renderStatusPage(servers, { ...info, mode: 'real cloud', generatedAt: at(1000) });
    expect(wall).not.toContain('emulated');
  });

  it('colours a state count only when it is above zero (no red "failed: 0")', () => {
    expect(html).toContain('<span class="count zero" data-count="0">failed: 0</span>');
    expect(html).toContain('<span class="count state-cleared" data-count="2">cleared: 2</span>');
  });
});
