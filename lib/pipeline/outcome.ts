/** What processing one server once can end in. Each outcome is logged once and counted once. */

export type SkipReason =
  | 'not-windows'
  | 'server-deleted'
  | 'server-error'
  | 'server-not-found'
  | 'opted-out'
  | 'not-opted-in'
  | 'project-not-allowed'
  | 'already-cleared';

export type FailReason =
  | 'deadline-exceeded'
  | 'auth-failed'
  | 'escrow-write-failed'
  | 'escrow-mismatch'
  | 'escrow-read-failed'
  | 'clear-not-confirmed'
  | 'aborted'
  | 'huawei-error'
  | 'invalid-item';

export interface ExposureReport {
  /** ISO time the hook first saw the record (the GET that found it): the post was by then. */
  foundAt: string;
  /** ISO time of the last GET that found nothing: the post was after it (absent: found at the first look). */
  lastEmptyCheckAt?: string | undefined;

  /** ISO time the DELETE was accepted; absent on dry runs. */
  clearedAt?: string | undefined;
  /** Password GETs this server cost, including the one that found it and the verify. */
  passwordChecks: number;
}

/** The record was escrowed and cleared, but writing that down in the escrow store failed. */
export interface BookkeepingFailure {
  reason: 'escrow-write-failed';
  detail: string;
}

export type Outcome =
  | {
      kind: 'cleared';
      versionId: string;
      sha256: string;
      exposure: ExposureReport;
      newVersion: boolean;
      /** Present when only the markCleared bookkeeping failed; a later run or sweep repeats it. */
      bookkeeping?: BookkeepingFailure | undefined;
    }
  | { kind: 'escrowed'; versionId: string; sha256: string; exposure: ExposureReport; dryRun: true }
  | { kind: 'skipped'; reason: SkipReason; detail?: string | undefined }
  | {
      kind: 'not-ready';
      retryAfterSeconds: number;
      reason:
        | 'building'
        | 'not-posted'
        | 'clear-pending'
        | 'watching'
        | 'throttled'
        | 'deferred'
        | 'auth-blocked';
    }
  | { kind: 'failed'; reason: FailReason; permanent: boolean; detail?: string | undefined };
