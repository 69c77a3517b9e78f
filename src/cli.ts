// The one executable: `netconsole-hub <command>`. Each command lives in src/commands/<name>.ts
// and registers itself here; this file only wires them up and turns errors into one line.
import { Command, CommanderError } from 'commander';
import { registerDecode } from './commands/decode.js';
import { registerServe } from './commands/serve.js';
import { registerImport } from './commands/import.js';
import { registerSend } from './commands/send.js';
import { registerTail } from './commands/tail.js';
import { registerQuery } from './commands/query.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('netconsole-hub')
    .description('Collector for Linux netconsole: receive, reassemble, store, search and live-tail kernel logs')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerDecode(program);
  registerServe(program);
  registerImport(program);
  registerSend(program);
  registerTail(program);
  registerQuery(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`netconsole-hub: ${msg}\n`);
    process.exitCode = 2;
  }
}

// `netconsole-hub decode … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
