// Where tests find the real data: $CASCADE_DATA_DIR, else <repo>/../shared/data.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const DATA_DIR = path.resolve(REPO_ROOT, process.env.CASCADE_DATA_DIR ?? '../shared/data');
export const dataPath = (...parts: string[]) => path.join(DATA_DIR, ...parts);
