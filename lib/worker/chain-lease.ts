/**
 * One polling chain per server where the queue cannot merge them (SQS): each chain carries an
 * id in its work items and holds a lease in the escrow store (lib/escrow/watch-lease.ts) until
 * its next look plus a grace period. Before a look, a find-phase item whose server is leased
 * by another live chain ends quietly: that chain will look anyway. After a look, a chain that
 * waits on renews the lease; one that ends, or moves on to verifying a clear, releases it.
 *
 * Why last-writer-wins is enough: there is one register per server, so after any interleaving
 * it names exactly one chain; every other find-phase chain sees a live foreign lease on its
 * next look and ends, and the named one sees its own and goes on. A server is never left
 * unwatched by this: a chain ends only while another holds a live lease, i.e. has promised a
 * look before `until`. If that chain dies (a lost message), its lease runs out and the next
 * sweep starts a new chain. A verify-phase item yields too: a chain that sent a DELETE long
 * ago (before a reinstall, say) would otherwise send another after its grace while the lease
 * holder's may still apply, and a late 202 would empty the next post before anyone escrowed it
 * (sim seed 4183: three DELETEs of one server in 20 s). The lease holder confirms the clear, or
 * finds a post and escrows it. (Holding the lease through the verify as well was tried: it
 * left a server whose chain died unwatched past the sweep, sim seed 8980.) And
 * a store error lets the item proceed: the price of doubt is a duplicate look, not a lost server.
 */
import { randomUUID } from 'node:crypto';
import { leaseIsLive, type WatchStore } from '../escrow/watch-lease.ts';
import type { Outcome } from '../pipeline/outcome.ts';
import type { WorkItem } from '../queue/work-item.ts';

/** Clock seconds a lease outlives the chain's next planned look (queue lag, a slow batch, a redelivery). */
export const WATCH_GRACE_SECONDS = 300;

const ref = (item: WorkItem) => ({ projectId: item.projectId, region: item.region, serverId: item.serverId });

/** Gives the item a chain id if it has none, and says whether another live chain already watches. */
export async function claimChain(
  watches: WatchStore,
  item: WorkItem,
  nowMs: number,
  signal?: AbortSignal,
): Promise<{ item: WorkItem; duplicate: boolean }> {
  const own = item.chain === undefined ? { ...item, chain: randomUUID() } : item;
  let lease: Awaited<ReturnType<WatchStore['read']>>;
  try {
    lease = await watches.read(ref(own), { signal });
  } catch {
    return { item: own, duplicate: false };
  }
  return { item: own, duplicate: leaseIsLive(lease, nowMs) && lease?.chain !== own.chain };
}

/** After a look: hold the lease until the next one (plus grace), or let it go. Best effort. */
export async function settleChain(
  watches: WatchStore,
  updated: WorkItem,
  outcome: Outcome | { kind: 'waiting'; retryAfterSeconds: number },
  nowMs: number,
  signal?: AbortSignal,
): Promise<void> {
  if (updated.chain === undefined) return;
  const waits = (outcome.kind === 'not-ready' || outcome.kind === 'waiting') && updated.phase !== 'verify';
  const until = waits ? nowMs + (outcome.retryAfterSeconds + WATCH_GRACE_SECONDS) * 1000 : 0;
  await watches.write(ref(updated), { chain: updated.chain, until }, { signal }).catch(() => undefined);
}
