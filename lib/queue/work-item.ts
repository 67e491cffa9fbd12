/**
 * The queue message: which server to look at and how far along its wait is. It carries
 * no secret, only ids and timestamps, so a queue or a DLQ can be inspected freely.
 */
/** 'posted': a hint from the guest's "posted" notification (one GET now; never starts a chain). */
export type WorkSource = 'smn' | 'cts' | 'eventgrid' | 'direct' | 'sweep' | 'cli' | 'requeue' | 'posted';

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
  /** ISO time of the last password GET; the scheduler's hazard counts from here. */
  lastPasswordCheckAt?: string | undefined;
  /**
   * 'verify' once a DELETE was sent and only the follow-up GET is left; 'watch' after a clear
   * whose ciphertext may predate this launch, while the launch's own post may still come.
   * Absent = 'find'.
   */
  phase?: 'find' | 'verify' | 'watch' | undefined;
  /**
   * ISO time of the last find-phase GET that found nothing: the post happened after it. With
   * foundAt it bounds the true post time, which the hook cannot see (exposure report).
   */
  lastEmptyCheckAt?: string | undefined;
  /** ISO time the GET that found the record ran (exposure report). */
  foundAt?: string | undefined;
  /** ISO time our DELETE was accepted (exposure report). */
  clearedAt?: string | undefined;
  /** SHA-256 (hex) of the ciphertext being cleared: not secret, lets a verify tell "same record" from "new". */
  sha256?: string | undefined;
  /** Escrow version id of that ciphertext. */
  versionId?: string | undefined;
  /** Verify GETs that still saw the same ciphertext. */
  verifyAttempts?: number | undefined;
  /**
   * Transient failures in a row (store down, 5xx after the client's retries): the item is
   * re-queued with a growing delay until its deadline, never left to the queue's receive count.
   */
  failureStreak?: number | undefined;
  /** ISO time our last DELETE went out; while it may still apply, no other DELETE is sent. */
  deleteSentAt?: string | undefined;
  /** The launch (ISO of the server's launched_at) the fields above belong to. */
  launchedAt?: string | undefined;
  /**
   * The launch in which this item saw the record empty (or 'first-build': it saw the server's
   * first BUILD), so a ciphertext found later in that launch was posted by it.
   */
  freshLaunch?: string | undefined;
  /** Whether the ciphertext being cleared is taken as this launch's own post (no watch after it). */
  postedInLaunch?: boolean | undefined;
  /**
   * ISO time a signed "posted" notification said Cloudbase-Init's password plugin had finished:
   * the launch that began before it posts nothing more, so no repost watch after our clear.
   */
  guestSettledAt?: string | undefined;
  /** This item saw the server's launch move on (a reinstall). */
  launchMoved?: boolean | undefined;
  /** ISO time before which the item must not be processed (delays longer than the queue allows are chained). */
  notBefore?: string | undefined;
  /** Id of the polling chain this item belongs to, where the queue cannot keep one chain per server (SQS). */
  chain?: string | undefined;
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
