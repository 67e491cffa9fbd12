/**
 * The local stack's read-only status page. Everything shown comes from the StatusBoard
 * (ids, states, reasons, times), every value is HTML-escaped, and the page refreshes itself,
 * so it needs no script and can be left open on a wall screen.
 */
import { exposureBounds, formatExposure, formatSeconds } from '../pipeline/exposure-bounds.ts';
import type { ServerState, ServerStatus } from './status-board.ts';

export interface StatusPageInfo {
  mode: 'real cloud' | 'emulator';
  region: string;
  projectId: string;
  dryRun: boolean;
  /** Messages due now, messages delayed or leased, and dead letters. */
  queueDepth?: { ready: number; delayed: number; deadLettered: number } | undefined;
  refreshSeconds: number;
  generatedAt: string;
  /**
   * How fast the clock behind every time on the page runs (the emulator's, ×N). Set, the
   * times are labelled as emulated: they are not the wall clock.
   */
  emulatedTimeScale?: number | undefined;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const STATE_LABEL: Record<ServerState, string> = {
  waiting: 'waiting',
  escrowed: 'escrowed',
  cleared: 'cleared',
  skipped: 'skipped',
  failed: 'failed',
};

function stateCell(s: ServerStatus): string {
  const label = s.state === 'failed' && s.deadLettered ? 'failed (DLQ)' : STATE_LABEL[s.state];
  return `<td class="state state-${escapeHtml(s.state)}" data-state="${escapeHtml(s.state)}">${escapeHtml(label)}</td>`;
}

/** "2026-12-02 16:05:01": short enough for the table to fit 1280 px; the full ISO is the tooltip. */
function timeCell(iso: string | undefined): string {
  if (!iso) return '<td></td>';
  const short = iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
  return `<td class="time" title="${escapeHtml(iso)}">${escapeHtml(short)}</td>`;
}

function exposureCell(s: ServerStatus, nowMs: number): string {
  const bounds = exposureBounds(s, nowMs);
  if (!bounds) return '<td class="exposure"></td>';
  const title =
    `posted after ${s.lastEmptyCheckAt ? 'the last empty GET' : 'the server became ACTIVE'}, ` +
    `by the GET that found it; ${bounds.open ? 'not cleared yet' : 'until our DELETE'}`;
  return `<td class="exposure${bounds.open ? ' open' : ''}" data-min-seconds="${escapeHtml(bounds.minSeconds)}" data-max-seconds="${escapeHtml(bounds.maxSeconds ?? '')}" title="${escapeHtml(title)}">${escapeHtml(formatExposure(bounds))}</td>`;
}

function row(s: ServerStatus, nowMs: number): string {
  const notified = s.postedHintAt
    ? `<td class="notified" title="${escapeHtml(s.postedHintAt)}">yes</td>`
    : '<td class="notified"></td>';
  return `<tr data-server-id="${escapeHtml(s.serverId)}">
<td class="id">${escapeHtml(s.serverId)}</td>${stateCell(s)}
<td class="reason">${escapeHtml(s.reason ?? '')}</td><td>${escapeHtml(s.source)}</td><td>${escapeHtml(s.attempts)}</td>
<td>${escapeHtml(s.passwordChecks ?? '')}</td>${exposureCell(s, nowMs)}${notified}${timeCell(s.firstSeenAt)}${timeCell(s.clearedAt)}</tr>`;
}

function counts(servers: ServerStatus[]): string {
  const by = new Map<ServerState, number>();
  for (const s of servers) by.set(s.state, (by.get(s.state) ?? 0) + 1);
  // A zero is not news: only a count above zero takes its state's colour (a red "failed: 0" alarms).
  const parts = (['waiting', 'escrowed', 'cleared', 'skipped', 'failed'] as const).map((state) => {
    const n = by.get(state) ?? 0;
    return `<span class="count ${n > 0 ? `state-${state}` : 'zero'}" data-count="${n}">${state}: ${n}</span>`;
  });
  return parts.join(' ');
}

/** Upper edges of the histogram's bins, in seconds (the last bin is open). */
const BIN_EDGES = [15, 30, 60, 120, 300, 600, 1200, 2400];

/**
 * The fleet's exposure as a plain SVG bar chart (no script, nothing fetched: inside the page's
 * CSP). Each cleared server counts once, at the upper bound of its exposure when there is one
 * (the conservative reading), else at the lower bound.
 */
export function exposureHistogram(servers: ServerStatus[], nowMs: number): string {
  const values = servers.flatMap((s) => {
    if (s.state !== 'cleared') return [];
    const b = exposureBounds(s, nowMs);
    return b ? [b.maxSeconds ?? b.minSeconds] : [];
  });
  if (values.length === 0) return '';
  const bins = new Array<number>(BIN_EDGES.length + 1).fill(0);
  for (const v of values) {
    const i = BIN_EDGES.findIndex((edge) => v <= edge);
    bins[i === -1 ? BIN_EDGES.length : i]!++;
  }
  const labels = [...BIN_EDGES.map((e) => `≤${formatSeconds(e)}`), `>${formatSeconds(BIN_EDGES.at(-1)!)}`];
  const barWidth = 64;
  const height = 100;
  const top = 16;
  const max = Math.max(...bins);
  const bars = bins
    .map((n, i) => {
      const h = max === 0 ? 0 : Math.round((n / max) * height);
      const x = i * barWidth + 4;
      const y = top + height - h;
      return `<g data-bin="${escapeHtml(labels[i])}" data-count="${n}"><rect x="${x}" y="${y}" width="${barWidth - 8}" height="${h}" fill="#1d7a34"/><text x="${x + (barWidth - 8) / 2}" y="${y - 3}" text-anchor="middle" font-size="11">${n}</text><text x="${x + (barWidth - 8) / 2}" y="${top + height + 14}" text-anchor="middle" font-size="11">${escapeHtml(labels[i])}</text></g>`;
    })
    .join('');
  const width = bins.length * barWidth;
  return `<figure id="exposure-histogram"><figcaption>Exposure of ${values.length} cleared server(s) (upper bound: from the last empty GET to our DELETE)</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${top + height + 20}" viewBox="0 0 ${width} ${top + height + 20}" role="img" aria-label="exposure histogram">${bars}</svg></figure>`;
}

export function renderStatusPage(servers: ServerStatus[], info: StatusPageInfo): string {
  const nowMs = Date.parse(info.generatedAt);
  const emulated = info.emulatedTimeScale !== undefined;
  const clockLabel = emulated ? ' <span class="clock">(emulated)</span>' : '';
  const clockNote = emulated
    ? `<p id="clock">Times are emulated: the emulator's clock runs ×${escapeHtml(info.emulatedTimeScale)}, not the wall clock.</p>`
    : '';
  const queue = info.queueDepth
    ? `<p id="queue">Queue: ${escapeHtml(info.queueDepth.ready)} ready, ${escapeHtml(info.queueDepth.delayed)} delayed or leased, ${escapeHtml(info.queueDepth.deadLettered)} dead-lettered</p>`
    : '';
  const body =
    servers.length === 0
      ? '<p id="empty">No servers seen yet. New servers arrive through the SMN webhook (POST /smn) or the sweep.</p>'
      : `<div class="scroll"><table id="servers"><thead><tr><th>Server</th><th>State</th><th>Reason</th><th>Source</th><th>Attempts</th><th>Password calls</th><th>Exposure</th><th>Notified</th><th>First seen${clockLabel}</th><th>Cleared at${clockLabel}</th></tr></thead>
<tbody>
${servers.map((s) => row(s, nowMs)).join('\n')}
</tbody></table></div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="${escapeHtml(info.refreshSeconds)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bms-password-escrow status</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse}th,td{padding:.3rem .5rem;border-bottom:1px solid #ddd;text-align:left}
.scroll{max-width:100%;overflow-x:auto}td.id{font-family:ui-monospace,monospace;font-size:12px}td{white-space:nowrap}
td.reason{white-space:normal;min-width:8rem}td.time{font-size:12px}.clock{font-weight:normal;color:#666}
.count.zero{color:#666}td.exposure.open{color:#b00020}figure{margin:1rem 0}figcaption{color:#444}
.state-waiting{color:#8a6d00}.state-escrowed{color:#1f5fa8}.state-cleared{color:#1d7a34}
.state-skipped{color:#666}.state-failed{color:#b00020;font-weight:bold}.count{margin-right:1rem}
</style></head><body>
<h1>bms-password-escrow</h1>
<p id="mode">Mode: ${escapeHtml(info.mode)} &middot; region ${escapeHtml(info.region)} &middot; project ${escapeHtml(info.projectId)}${info.dryRun ? ' &middot; <strong>dry run</strong> (records are escrowed, never cleared)' : ''}</p>
<p id="counts">${counts(servers)}</p>
${queue}
${clockNote}
${exposureHistogram(servers, nowMs)}
${body}
<p><small>Generated ${escapeHtml(info.generatedAt)}${emulated ? ' (emulated)' : ''}; refreshes every ${escapeHtml(info.refreshSeconds)} s. No password or ciphertext is ever shown here.</small></p>
</body></html>
`;
}
