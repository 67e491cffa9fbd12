/** Exit codes scripts can branch on; documented in the README and in --help. */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  /** The record was escrowed and cleared; only writing that down in the escrow store failed. */
  clearedBookkeepingFailed: 3,
  /** EX_TEMPFAIL: the server is not ready yet; run again later. */
  notReady: 75,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0   done (escrowed and cleared, or skipped with a reason)
  1   error (see the message; nothing was cleared that was not escrowed)
  2   usage or configuration error (a flag or an environment variable is wrong)
  3   escrowed and cleared, but marking the escrow "cleared" failed (e.g. disk full); a rerun or
      the sweep repeats only that
  75  not ready yet (password not posted, or the clear is still pending); retry later`;
