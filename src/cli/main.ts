import { CommanderError } from 'commander';
import { buildProgram } from './program.js';

// `harmonia ... | head` closes the pipe early: end quietly, as Unix tools do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const program = buildProgram();

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander has already printed its message (or the help); keep its exit code.
    process.exit(e.exitCode);
  }
  process.stderr.write(`harmonia: ${(e as Error).message.split('\n')[0]}\n`);
  if (process.env.HARMONIA_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
}
