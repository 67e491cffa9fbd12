/** Exit codes scripts can branch on; documented in the README and in --help. */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  /** EX_TEMPFAIL: the server is not ready yet; run again later. */
  notReady: 75,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0   done (escrowed and cleared, or skipped with a reason)
  1   error (see the message; nothing was cleared that was not escrowed)
  2   usage or configuration error (a flag or an environment variable is wrong)
  75  not ready yet (password not posted, or the clear is still pending); retry later`;
