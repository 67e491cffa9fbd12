/**
 * `npm start`: the whole flow against the bundled emulator in about a minute, no credentials,
 * no network. Same as `bms-password-escrow demo`; pass --json for a machine-readable summary.
 */
import { runCli } from '../cli/main.ts';

await runCli(['demo', ...process.argv.slice(2)]);
