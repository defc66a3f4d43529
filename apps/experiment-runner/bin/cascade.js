#!/usr/bin/env node
// The `cascade` executable: runs the compiled CLI (build it with `npm run build` at the root).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('cascade is not built yet: run `npm run build` (or `npm run setup`) at the repository root\n');
  process.exit(1);
}
const { main } = await import(entry.href);
const { hideBin } = await import('yargs/helpers');
process.exitCode = await main(hideBin(process.argv));
