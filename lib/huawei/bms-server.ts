/** Reading the BMS v1 server record: OS type, tags and times as the API spells them. */
import type { BmsServer } from './bms-types.ts';

/** 'windows', another lower-cased OS type, or undefined when the server says nothing. */
export function osType(server: BmsServer): string | undefined {
  const raw = server.metadata?.os_type ?? server.image?.__os_type;
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  return raw.trim().toLowerCase();
}

/** BMS v1 tags are "key=value" or "key" strings; some APIs return {key, value} objects. */
export function tagValue(tags: unknown, key: string): string | undefined {
  if (!Array.isArray(tags)) return undefined;
  for (const tag of tags) {
    if (typeof tag === 'string') {
      const eq = tag.indexOf('=');
      const k = eq < 0 ? tag : tag.slice(0, eq);
      if (k.trim() === key) return eq < 0 ? '' : tag.slice(eq + 1).trim();
    } else if (tag && typeof tag === 'object' && (tag as { key?: unknown }).key === key) {
      const v = (tag as { value?: unknown }).value;
      return typeof v === 'string' ? v : '';
    }
  }
  return undefined;
}

/** "2019-05-22T03:23:59.000000" carries no zone; Huawei means UTC. */
export function parseHuaweiTime(value: unknown): number {
  if (typeof value !== 'string' || value === '') return Number.NaN;
  const hasZone = /(?:Z|[+-]\d\d:?\d\d)$/.test(value);
  return Date.parse(hasZone ? value : `${value}Z`);
}

/**
 * The server's launch identity: launched_at as an ISO time. A reinstall moves it, so a clear
 * is done only for the launch it happened in. Undefined before the first launch (BUILD).
 */
export function launchOf(server: BmsServer): string | undefined {
  const ms = parseHuaweiTime(server['OS-SRV-USG:launched_at']);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}
