/**
 * The queue message: which server to look at and how far along its wait is. It carries
 * no secret, only ids and timestamps, so a queue or a DLQ can be inspected freely.
 */
export type WorkSource = 'smn' | 'cts' | 'eventgrid' | 'direct' | 'sweep' | 'cli' | 'requeue';

export interface WorkItem {
  v: 1;
  projectId: string;
  region: string;
  serverId: string;
  /** ISO time the hook first learned of this server; the deadline counts from here. */
  firstSeenAt: string;
  /** 0 for a fresh event; incremented on every "not ready yet" re-queue. */
  attempt: number;
  source: WorkSource;
  /** ISO time the server was first seen ACTIVE, once known; the post-time model counts from here. */
  activeSince?: string | undefined;
  /** Password GETs spent so far on this server (for the exposure report). */
  passwordChecks?: number | undefined;
  /** Where the event came from, for tracing duplicates (e.g. the SMN message id). */
  origin?: string | undefined;
}

export interface EnqueueOptions {
  /** Seconds before the message becomes visible; SQS allows 0..900. */
  delaySeconds?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface EnqueueResult {
  accepted: number;
  failed: Array<{ serverId: string; reason: string }>;
}

/** The producer side of the durable queue (SQS on AWS, a file-backed queue locally). */
export interface WorkQueue {
  enqueue(items: readonly WorkItem[], options?: EnqueueOptions): Promise<EnqueueResult>;
}
