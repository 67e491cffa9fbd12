import type { RunningEmulator } from '../emulator/index.ts';
import { clientEnv } from '../lib/local/emulator-env.ts';

/**
 * The environment for a `serve` child process against a real-time emulator, tuned so a
 * handful of servers finish in seconds: limits lifted, 1-second fixed polling, short leases.
 */
export function fastServeEnv(emulator: RunningEmulator, logLevel: 'debug' | 'warn'): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'],
    ...clientEnv(emulator),
    HUAWEICLOUD_RATE_LIMITS: 'password.get=6000,password.delete=6000',
    ESCROW_SCHEDULER: 'fixed',
    ESCROW_FIXED_INTERVAL_SECONDS: '1',
    ESCROW_BUILD_POLL_SECONDS: '1',
    ESCROW_VERIFY_DELAY_SECONDS: '0',
    // A cleared server is shown as cleared at once, not after the 10-minute repost watch, nor
    // after the hour a launch whose record was first seen already posted is watched for.
    ESCROW_REPOST_WATCH_SECONDS: '0',
    ESCROW_POST_CLEAR_WATCH_SECONDS: '0',
    // Real time here: a DELETE marked "sent" by a worker that was then killed is re-sent after a
    // 2-second grace, not the production 120 s that would outlast a test's patience.
    ESCROW_DELETE_GRACE_SECONDS: '2',
    LOCAL_VISIBILITY_TIMEOUT_SECONDS: '2',
    LOCAL_IDLE_POLL_MS: '50',
    LOG_LEVEL: logLevel,
  };
}
