/**
 * What every doctor check answers, and how a report is rendered: one line per check with ✓, ✗
 * or – (skipped: not configured, or not reachable because an earlier check failed), and under a
 * ✗ the fix. Text from the cloud is stripped of control characters before it reaches a terminal.
 */

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  /** Under a failure: what to do about it. */
  fix?: string | undefined;
  /** `--fix` created or changed something for this check. */
  fixed?: boolean | undefined;
}

export interface DoctorReport {
  ok: boolean;
  checks: CheckResult[];
}

export const pass = (id: string, title: string, detail: string, fixed?: boolean): CheckResult => ({
  id,
  title,
  status: 'pass',
  detail,
  ...(fixed ? { fixed } : {}),
});
export const fail = (id: string, title: string, detail: string, fix: string): CheckResult => ({
  id,
  title,
  status: 'fail',
  detail,
  fix,
});
export const skip = (id: string, title: string, detail: string): CheckResult => ({
  id,
  title,
  status: 'skip',
  detail,
});

export function report(checks: CheckResult[]): DoctorReport {
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function printable(text: string): string {
  return text.replace(CONTROL, '');
}

const MARK: Record<CheckStatus, string> = { pass: '✓', fail: '✗', skip: '–' };

export function renderReport(result: DoctorReport): string {
  const width = Math.max(...result.checks.map((c) => c.title.length));
  const lines = result.checks.map((c) => {
    const head = `${MARK[c.status]} ${c.title.padEnd(width)}  ${printable(c.detail)}${c.fixed ? ' (fixed)' : ''}`;
    return c.status === 'fail' && c.fix ? `${head}\n    fix: ${printable(c.fix)}` : head;
  });
  const failed = result.checks.filter((c) => c.status === 'fail').length;
  const summary = failed === 0 ? 'All checks passed.' : `${failed} check${failed === 1 ? '' : 's'} failed.`;
  return `${lines.join('\n')}\n\n${summary}\n`;
}
