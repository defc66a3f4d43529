import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli as run } from '../cli.test-util.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const DATA_DIR = path.resolve(repo, process.env.CASCADE_DATA_DIR ?? '../shared/data');
const store = ['--data-dir', DATA_DIR, '--cache-dir', '/nonexistent/cascade-cli-test-cache', '--no-download', '--quiet'];


describe('cascade datasets', () => {
  // Expected: the NDM paper, Table 1 (Irvine 540 users / 471 cascades / 13.63; Memetracker 498 / 8,304 / 8.43).
  test('stats irvine prints the NDM paper Table 1 numbers', async () => {
    const r = await run('datasets', 'stats', 'irvine', ...store);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('Irvine: 540 users, 471 cascades, average length 13.63');
    expect(r.stdout).toMatch(/time span +2004-05-15 \.\. 2004-10-25/);
  });

  test('stats memetracker prints the NDM paper Table 1 numbers', async () => {
    const r = await run('datasets', 'stats', 'memetracker', ...store);
    expect(r.stdout.split('\n')[0]).toBe('Memetracker: 498 users, 8,304 cascades, average length 8.43');
  });

  test('stats of a path needs --format; macroscopic stats print the size distribution', async () => {
    const weibo = path.join(DATA_DIR, 'macro/weibo-sample');
    const bad = await run('datasets', 'stats', weibo, ...store);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is a path: say its format with --format/);
    const ok = await run('datasets', 'stats', weibo, '--format', 'weibo', ...store);
    expect(ok.code).toBe(0);
    // 30 cascades, 7,117 retweets (python: sum(int(n) - 1 for the n column of dataset.txt)).
    expect(ok.stdout.split('\n')[0]).toMatch(/^weibo-sample: 30 cascades, 7,117 retweets, average size/);
    expect(ok.stdout).toMatch(/^ {2}sizes +8-15: 1, 16-31: 7/m);
  });

  test('list and info; unknown names suggest the closest', async () => {
    const list = await run('datasets', 'list', ...store);
    expect(list.stdout).toMatch(/^irvine +microscopic +ndm +local$/m);
    expect(list.stdout).toMatch(/^lastfm +microscopic +ndm +not present$/m);
    const info = await run('datasets', 'info', 'christianity', '--json', ...store);
    const e = JSON.parse(info.stdout);
    expect(e.format).toBe('infvae');
    expect(e.files.map((f: { path: string }) => f.path)).toEqual(['train.txt', 'val.txt', 'test.txt', 'graph.txt']);
    const unknown = await run('datasets', 'info', 'irvin', ...store);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/unknown dataset "irvin" \(did you mean "irvine"\?\)/);
  });

  test('stats of a dataset that is not here, downloads off: the hint says where to put the files', async () => {
    const r = await run('datasets', 'stats', 'lastfm', ...store);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/Place the files of lastfm in \/nonexistent\/cascade-cli-test-cache\/lastfm\//);
  });
});
