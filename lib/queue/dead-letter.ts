/**
 * Where work that cannot succeed goes: the item (or the raw body, when it did not parse) and
 * why. Like the work queue it carries ids and reasons only, never a secret.
 */
import type { WorkItem } from './work-item.ts';

export interface DeadLetter {
  /** The parsed item, when the body was valid. */
  item?: WorkItem | undefined;
  /** The original body, when it was not a valid WorkItem (kept so nothing is lost). */
  body?: string | undefined;
  /** A FailReason or a queue-level reason such as "invalid-item" or "max-receive-count". */
  reason: string;
  detail?: string | undefined;
}

export interface DeadLetterQueue {
  send(letter: DeadLetter, options?: { signal?: AbortSignal | undefined }): Promise<void>;
}
