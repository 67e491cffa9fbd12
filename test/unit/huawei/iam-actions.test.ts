/**
 * The README's IAM policies and action table cannot drift from lib/huawei/iam-actions.ts, and
 * no API the hook calls is missing from the table.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_NAMES } from '../../../lib/huawei/api-names.ts';
import { IAM_ACTIONS, iamActionFor, iamPolicyFor } from '../../../lib/huawei/iam-actions.ts';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The first ```json block after the marker comment. */
function policyAfter(marker: string): unknown {
  const at = README.indexOf(`<!-- ${marker}`);
  expect(at, `README has no <!-- ${marker} marker`).toBeGreaterThanOrEqual(0);
  const block = /```json\n([\s\S]*?)```/.exec(README.slice(at));
  expect(block, `no json block after ${marker}`).not.toBeNull();
  return JSON.parse(block![1]!);
}

/** Only demos and tests create or reinstall servers; the hook never does. */
const NOT_CALLED_BY_THE_HOOK = new Set(['server.create', 'server.reinstall']);

describe('IAM action table', () => {
  it('covers every API the project calls', () => {
    const inTable = new Set(IAM_ACTIONS.map((e) => e.api));
    const missing = API_NAMES.filter((api) => !inTable.has(api) && !NOT_CALLED_BY_THE_HOOK.has(api));
    expect(missing).toEqual([]);
  });

  it('maps the password APIs to the documented BMS actions', () => {
    expect(iamActionFor('password.get')).toBe('bms:servers:get');
    expect(iamActionFor('password.delete')).toBe('bms:servers:deletePassword');
    expect(iamActionFor('server.list')).toBe('bms:servers:list');
    expect(iamActionFor('job.get')).toBeUndefined();
  });

  it("the README's hook policy is the table's hook and check actions", () => {
    expect(policyAfter('iam-policy:hook+check')).toEqual(iamPolicyFor(['hook', 'check']));
  });

  it("the README's --fix policy is the table's fix actions", () => {
    expect(policyAfter('iam-policy:fix')).toEqual(iamPolicyFor(['fix']));
  });

  it("the README's action table lists each hook and check API with its action", () => {
    const at = README.indexOf('<!-- iam-table');
    expect(at).toBeGreaterThanOrEqual(0);
    const rows = README.slice(at)
      .split('\n')
      .slice(1)
      .map((line) => line.trim())
      .filter((line, i, all) => line.startsWith('|') && all.slice(0, i).every((l) => l.startsWith('|')))
      .slice(2);
    const readmeActions = rows.map((row) => row.split('|')[2]!.trim().replaceAll('`', '')).sort();
    const tableActions = IAM_ACTIONS.filter((e) => e.purpose !== 'fix')
      .map((e) => e.action ?? 'none documented')
      .sort();
    expect(readmeActions).toEqual(tableActions);
  });
});
