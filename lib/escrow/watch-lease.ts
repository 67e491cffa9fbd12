/**
 * Which polling chain watches a server, kept where the Lambda side has durable state: the
 * escrow store. On SQS the sweep cannot see the queue, so without this every sweep would start
 * another chain for a server that has not posted yet. The worker renews the lease on every
 * look (lib/worker/chain-lease.ts says why last-writer-wins is enough); the sweep skips a
 * server whose lease is live. Ids and a time only: never a secret.
 */
import type { CallOptions } from '../huawei/bms-types.ts';
import type { ServerRef } from './escrow-store.ts';

export interface WatchLease {
  /** The chain's id (a random UUID carried by its work items). */
  chain: string;
  /** Clock milliseconds until which the chain will look again; 0 = released. */
  until: number;
}

export interface WatchStore {
  read(ref: ServerRef, options?: CallOptions): Promise<WatchLease | undefined>;
  /** Unconditional: the last writer wins. */
  write(ref: ServerRef, lease: WatchLease, options?: CallOptions): Promise<void>;
}

const LEASE = /^([A-Za-z0-9-]{1,64})@(\d{1,16})$/;

export function encodeWatchLease(lease: WatchLease): string {
  return `${lease.chain}@${Math.max(0, Math.floor(lease.until))}`;
}

/** Anything that is not a lease we wrote reads as no lease: the worker then simply proceeds. */
export function parseWatchLease(text: string | undefined): WatchLease | undefined {
  const m = LEASE.exec(text?.trim() ?? '');
  return m ? { chain: m[1]!, until: Number(m[2]) } : undefined;
}

/** Whether a chain has promised a look after `nowMs`. */
export function leaseIsLive(lease: WatchLease | undefined, nowMs: number): boolean {
  return lease !== undefined && lease.until > nowMs;
}
