// Where the tests find the real data and the reference values: $CASCADE_DATA_DIR and
// $CASCADE_REFERENCE_DIR, else <repo>/../shared/data and <repo>/../shared/reference.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSeismicCsv, parseTideh } from '@cascade-lab/data';
import type { MacroCascade } from '@cascade-lab/core';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const DATA_DIR = path.resolve(REPO_ROOT, process.env.CASCADE_DATA_DIR ?? '../shared/data');
export const REFERENCE_DIR = path.resolve(REPO_ROOT, process.env.CASCADE_REFERENCE_DIR ?? '../shared/reference');

export const readReference = <T>(file: string): T => JSON.parse(readFileSync(path.join(REFERENCE_DIR, file), 'utf8')) as T;

/** A cascade file of shared/data/macro (`tideh-rt/RT1.txt` or `seismic-tweet/tweet.csv`) through the project's parsers. */
export function readMacroCascade(relative: string): MacroCascade {
  const file = path.join(DATA_DIR, 'macro', relative);
  const text = readFileSync(file, 'utf8');
  return relative.endsWith('.csv') ? parseSeismicCsv(text, file) : parseTideh(text, file).cascade;
}
