import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDatasetConfig, parseJsonl } from './index.js';

const readme = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'README.md'), 'utf8');

test('the JSON Lines example in the README parses', () => {
  const block = /```jsonl\n([\s\S]*?)```/.exec(readme)![1];
  const cs = parseJsonl(block, 'README.md');
  expect(cs.map((c) => c.id)).toEqual(['t1', 't2']);
  expect(cs[0].text).toEqual(['floods', 'in', '#chennai', 'rescue', 'teams', 'out']);
  expect(cs[0].news![0]).toEqual({ time: -3600, tokens: ['heavy', 'rain', 'warning', 'for', 'tamil', 'nadu'] });
  expect(cs[1].rootTime).toBe(0);
});

test('the README table lists every key of the dataset section with its default', () => {
  const c = parseDatasetConfig({ name: 'irvine' });
  for (const key of [...Object.keys(c).filter((k) => k !== 'split' && k !== 'window'), ...Object.keys(c.split).map((k) => `split.${k}`), ...Object.keys(c.window).map((k) => `window.${k}`)]) {
    expect([key, readme.includes(`\`${key}\``) || readme.includes(`\`${key}\`,`) || readme.includes(`${key.split('.').pop()}\``)]).toEqual([key, true]);
  }
});
