import type { Command } from '../command.ts';

export const emulatorCommand: Command = {
  name: 'emulator',
  summary:
    'Start the bundled Huawei Cloud emulator on loopback (BMS v1, IAM projects, CTS traces pushed to SMN subscribers).',
  usage: 'emulator [--port N] [--host H] [--region R] [--time-scale X] [--seed N] [--demo-fleet] [--json]',
  help: `  --port N                 port to listen on (default: a free port)
  --host H                 address to bind (default 127.0.0.1)
  --region R               region the emulator pretends to be (default cn-north-4)
  --time-scale X           run X times faster than real time (e.g. 60: a minute per second)
  --seed N                 seed for ids, boot/post delays and faults
  --demo-fleet             create 8 Windows and 4 Linux servers at start
  --json                   print one JSON line: endpoint, projectId, region, accessKey, secretKey`,
  options: {},
  rawArgs: true,
  async run(_values, io, positionals) {
    // The emulator parses its own flags; forward the raw argv.
    const { runEmulatorCommand } = await import('../../emulator/command.ts');
    return runEmulatorCommand(positionals, io);
  },
};
