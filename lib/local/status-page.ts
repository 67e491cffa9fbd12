/**
 * The local stack's read-only status page. Everything shown comes from the StatusBoard
 * (ids, states, reasons, times), every value is HTML-escaped, and the page refreshes itself,
 * so it needs no script and can be left open on a wall screen.
 */
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

function row(s: ServerStatus): string {
  return `<tr data-server-id="${escapeHtml(s.serverId)}">
<td class="id">${escapeHtml(s.serverId)}</td>${stateCell(s)}
<td>${escapeHtml(s.reason ?? '')}</td><td>${escapeHtml(s.source)}</td><td>${escapeHtml(s.attempts)}</td>
<td>${escapeHtml(s.passwordChecks ?? '')}</td><td>${escapeHtml(s.firstSeenAt)}</td><td>${escapeHtml(s.clearedAt ?? '')}</td></tr>`;
}

function counts(servers: ServerStatus[]): string {
  const by = new Map<ServerState, number>();
  for (const s of servers) by.set(s.state, (by.get(s.state) ?? 0) + 1);
  const parts = (['waiting', 'escrowed', 'cleared', 'skipped', 'failed'] as const).map(
    (state) => `<span class="count state-${state}">${state}: ${by.get(state) ?? 0}</span>`,
  );
  return parts.join(' ');
}

export function renderStatusPage(servers: ServerStatus[], info: StatusPageInfo): string {
  const queue = info.queueDepth
    ? `<p id="queue">Queue: ${escapeHtml(info.queueDepth.ready)} ready, ${escapeHtml(info.queueDepth.delayed)} delayed or leased, ${escapeHtml(info.queueDepth.deadLettered)} dead-lettered</p>`
    : '';
  const body =
    servers.length === 0
      ? '<p id="empty">No servers seen yet. New servers arrive through the SMN webhook (POST /smn) or the sweep.</p>'
      : `<table id="servers"><thead><tr><th>Server</th><th>State</th><th>Reason</th><th>Source</th><th>Attempts</th><th>Password calls</th><th>First seen</th><th>Cleared at</th></tr></thead>
<tbody>
${servers.map(row).join('\n')}
</tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="${escapeHtml(info.refreshSeconds)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bms-password-escrow status</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse}th,td{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}
td.id{font-family:ui-monospace,monospace}td{white-space:nowrap}
.state-waiting{color:#8a6d00}.state-escrowed{color:#1f5fa8}.state-cleared{color:#1d7a34}
.state-skipped{color:#666}.state-failed{color:#b00020;font-weight:bold}.count{margin-right:1rem}
</style></head><body>
<h1>bms-password-escrow</h1>
<p id="mode">Mode: ${escapeHtml(info.mode)} &middot; region ${escapeHtml(info.region)} &middot; project ${escapeHtml(info.projectId)}${info.dryRun ? ' &middot; <strong>dry run</strong> (records are escrowed, never cleared)' : ''}</p>
<p id="counts">${counts(servers)}</p>
${queue}
${body}
<p><small>Generated ${escapeHtml(info.generatedAt)}; refreshes every ${escapeHtml(info.refreshSeconds)} s. No password or ciphertext is ever shown here.</small></p>
</body></html>
`;
}
