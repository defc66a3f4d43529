#!/usr/bin/env node
import 'reflect-metadata';
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import pc from 'picocolors';
import { isCascadeError } from '@cascade-lab/core';
import { commands } from './commands/index.js';

const require = createRequire(import.meta.url);
const { version } = require('../package.json') as { version: string };

/** Prints an error as one line (plus its hint) and returns the exit code for it. */
export function reportError(err: unknown, verbose: boolean): number {
  if (isCascadeError(err)) {
    process.stderr.write(`${pc.red('error')} [${err.code}] ${err.message}\n`);
    if (err.hint) process.stderr.write(`${pc.dim('hint:')} ${err.hint}\n`);
    if (verbose && err.stack) process.stderr.write(pc.dim(err.stack) + '\n');
    return err.exitCode;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`${pc.red('error')} [INTERNAL] ${e.message}\n`);
  process.stderr.write(verbose && e.stack ? pc.dim(e.stack) + '\n' : pc.dim('run again with --verbose for the stack trace\n'));
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  const cli = yargs(argv)
    .scriptName('cascade')
    .usage('$0 <command> [options]\n\nTrain, evaluate and compare information-cascade prediction models.')
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'debug logging and stack traces' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'only warnings and errors; no progress' })
    .option('progress', { choices: ['auto', 'bar', 'lines', 'quiet'] as const, default: 'auto' as const, describe: 'progress display: bars on a TTY, plain lines otherwise' })
    .command(commands)
    .demandCommand(1, 'name a command; `cascade --help` lists them')
    .strict()
    .recommendCommands()
    .version(version)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue('Docs: README.md at the repository root. Exit codes: 0 ok, 1 internal, 2 bad config/usage, 3 unknown model, 4 bad data, 5 backend, 6 tracking, 7 model, 8 failed sweep trials, 130 cancelled.')
    .exitProcess(false)
    .fail((msg, err) => {
      // yargs gives a message for what it rejected itself, including an option check that threw
      // (a usage error, exit 2); a command handler's error comes without one and stays as it is.
      if (err && (msg === null || msg === undefined || isCascadeError(err))) throw err;
      throw new UsageError(msg ?? String(err));
    });
  try {
    await cli.parseAsync();
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${pc.red('error')} [USAGE] ${err.message}\n${pc.dim('run `cascade --help` for usage')}\n`);
      return 2;
    }
    return reportError(err, verbose);
  }
}

class UsageError extends Error {}

// `cascade ... | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

// `node apps/experiment-runner/dist/main.js ...` runs the CLI directly (bin/cascade.js imports main()).
const entryFile = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (entryFile && pathToFileURL(entryFile).href === import.meta.url) {
  main(hideBin(process.argv)).then((code) => {
    process.exitCode = code;
  });
}
