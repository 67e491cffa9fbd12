/** The campaign's closing figures: totals over every scenario, printed and as JSON. */
import { failureCount } from './invariants.ts';
import type { ScenarioResult } from './run-scenario.ts';

export interface CampaignSummary {
  failed: boolean;
  text: string;
  json: Record<string, unknown>;
}

export function summarizeCampaign(results: readonly ScenarioResult[], realSeconds: number): CampaignSummary {
  const sum = (f: (r: ScenarioResult) => number): number => results.reduce((a, r) => a + f(r), 0);
  const crashes: Record<string, number> = {};
  const deadLetters: Record<string, number> = {};
  const deleteStatuses: Record<string, number> = {};
  for (const r of results) {
    for (const [k, v] of Object.entries(r.faults.crashes)) crashes[k] = (crashes[k] ?? 0) + (v ?? 0);
    for (const [k, v] of Object.entries(r.check.deadLetters)) deadLetters[k] = (deadLetters[k] ?? 0) + v;
    deleteStatuses[r.faults.deleteStatus] = (deleteStatuses[r.faults.deleteStatus] ?? 0) + 1;
  }
  const totals = {
    scenarios: results.length,
    failedScenarios: results.filter((r) => failureCount(r.check) > 0).length,
    windowsServers: sum((r) => r.check.windowsServers),
    linuxServers: sum((r) => r.spec.linux),
    postedVersions: sum((r) => r.check.postedVersions),
    escrowedVersions: sum((r) => r.check.escrowedVersions),
    lost: sum((r) => r.check.lost),
    duplicated: sum((r) => r.check.duplicated),
    uncleared: sum((r) => r.check.uncleared),
    prematureClears: sum((r) => r.check.prematureClears),
    secretsLeaked: sum((r) => r.check.secretsLeaked),
    inFlight: sum((r) => r.check.inFlight),
  };
  const faults = {
    'Huawei 5xx': sum((r) => r.faults.huawei5xx),
    'Huawei 429': sum((r) => r.faults.huawei429),
    'connection resets': sum((r) => r.faults.huaweiResets),
    'scenarios with added latency': results.filter((r) => r.faults.huaweiLatencyMs > 0).length,
    'SMN notifications dropped': sum((r) => r.faults.smnDropped),
    'direct events dropped': sum((r) => r.faults.eventsDroppedDirect),
    'events duplicated': sum((r) => r.faults.eventsDuplicated),
    'events held back (reordered)': sum((r) => r.faults.eventsDelayed),
    'events refused by intake': sum((r) => r.faults.eventsRefused),
    'escrow write failures': sum((r) => r.faults.storeWriteFailures),
    'read-back mismatches': sum((r) => r.faults.storeReadMismatches),
    'OS reinstalls (2nd version)': sum((r) => r.faults.reinstalls),
    'reinstalls between GET and DELETE': sum((r) => r.faults.reinstallsBetweenGetAndDelete ?? 0),
    'ambiguous DELETEs (answers to lose)': sum((r) => r.spec.ambiguousDeletes ?? 0),
    'scenarios with late 202s': sum((r) => (r.spec.deleteApplyDelaySeconds > 0 ? 1 : 0)),
    sweeps: sum((r) => r.faults.sweeps),
  };
  const lines = [
    `chaos campaign: ${totals.scenarios} scenarios, ${totals.windowsServers} Windows + ${totals.linuxServers} Linux servers, ${totals.postedVersions} posted password versions, ${realSeconds.toFixed(0)} s`,
    'faults injected:',
    ...Object.entries(faults).map(([k, v]) => `  ${k.padEnd(30)} ${v}`),
    `  ${'DELETE answered'.padEnd(30)} ${Object.entries(deleteStatuses)
      .map(([k, v]) => `${k} in ${v} scenario(s)`)
      .join(', ')}`,
    `  ${'worker crashes'.padEnd(30)} ${
      Object.entries(crashes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
    'verdict:',
    `  escrowed versions              ${totals.escrowedVersions} of ${totals.postedVersions} posted`,
    `  lost                           ${totals.lost}`,
    `  duplicated versions            ${totals.duplicated}`,
    `  records left uncleared         ${totals.uncleared}`,
    `  premature clears               ${totals.prematureClears}`,
    `  secrets leaked                 ${totals.secretsLeaked}`,
    `  messages left in flight        ${totals.inFlight}`,
    `  dead letters (with reason)     ${
      Object.entries(deadLetters)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
    totals.failedScenarios === 0 ? 'PASS' : `FAIL: ${totals.failedScenarios} scenario(s) failed`,
  ];
  return {
    failed: totals.failedScenarios > 0,
    text: lines.join('\n'),
    json: { totals, faults, deleteStatuses, crashes, deadLetters, realSeconds },
  };
}
