import { runCli } from './main.ts';

await runCli();
