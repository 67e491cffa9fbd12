/**
 * Terminal output helpers: control-character stripping, aligned tables and a progress line
 * that only draws on a TTY.
 */

/**
 * C0 and C1 controls, DEL, and the bidirectional overrides/isolates: what lets text from the
 * cloud (a server name, an error detail) move the cursor, recolour, retitle or reorder a
 * terminal. Each becomes one visible "?".
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The one way text that did not come from us reaches a terminal. */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL, '?');
}

export function formatTable(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => terminalSafe(String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(cells[0]!), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}

export interface Progress {
  update(done: number, total: number | undefined, label?: string): void;
  done(): void;
}

export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }): Progress {
  if (!stream.isTTY) return { update() {}, done() {} };
  let last = 0;
  return {
    update(done, total, label = '') {
      const now = Date.now();
      if (now - last < 50 && done !== total) return;
      last = now;
      const width = 24;
      const ratio = total ? Math.min(1, done / total) : 0;
      const bar = total ? `[${'#'.repeat(Math.round(ratio * width)).padEnd(width, '.')}] ` : '';
      stream.write(`\r\x1b[2K${bar}${done}${total ? `/${total}` : ''} ${label}`);
    },
    done() {
      stream.write('\r\x1b[2K');
    },
  };
}
