import { main } from './main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the `cascade` CLI in this process, returning its exit code and what it printed. */
export async function runCli(...argv: string[]): Promise<CliResult> {
  const write = { out: process.stdout.write, err: process.stderr.write };
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
}
