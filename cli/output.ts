/** Terminal output helpers: aligned tables and a progress line that only draws on a TTY. */

export function formatTable(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
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
