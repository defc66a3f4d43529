/**
 * Input that used to get through or be mis-reported (issue 21, item 5): a user twice in one JSON
 * Lines cascade, an NDM file cut mid-number without a final newline, the line a TiDeH/SEISMIC
 * out-of-order error names, and lenient parsing of a line with very many problems.
 */
import { DataFormatError } from '@cascade-lab/core';
import { ParseReport, Vocabulary, parseJsonl, parseNdmCascades, parseSeismicCsv, parseTideh } from './index.js';

function errorOf(fn: () => unknown): DataFormatError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DataFormatError) return e;
    throw e;
  }
  throw new Error('expected a DataFormatError, nothing was thrown');
}

const line = (o: unknown) => JSON.stringify(o);

describe('JSON Lines: a user twice in one cascade', () => {
  const text = [
    line({ id: 'ok', rootFollowers: 5, events: [{ time: 1, user: 'u1' }, { time: 2, user: 'u2' }] }),
    line({ id: 'dup', rootFollowers: 5, events: [{ time: 1, user: 'u1' }, { time: 2, user: 'u2' }, { time: 3, user: 'u1' }] }),
    '',
  ].join('\n');

  test('is an error naming file, line and the user (events without a user id are never duplicates)', () => {
    const e = errorOf(() => parseJsonl(text, 'c.jsonl'));
    expect(e.location).toMatchObject({ file: 'c.jsonl', line: 2 });
    expect(e.problem).toMatch(/events\.2: user "u1" retweets twice in this cascade \(first at events\.0\)/);
    expect(() => parseJsonl(line({ id: 'anon', rootFollowers: 1, events: [{ time: 1 }, { time: 2 }] }) + '\n', 'c.jsonl')).not.toThrow();
  });

  test('lenient: the later retweet is dropped and counted', () => {
    const report = new ParseReport();
    const out = parseJsonl(text, 'c.jsonl', { lenient: true, report });
    expect(out[1].events.map((e) => e.user)).toEqual(['u1', 'u2']);
    expect(report.counts.get('duplicate-user')).toBe(1);
  });
});

describe('NDM: a file cut mid-number without a final newline', () => {
  const vocabulary = () => new Vocabulary(['a', 'b', 'c']);
  test('is noticed: the last timestamp is shorter than the one before it on that line', () => {
    const report = new ParseReport();
    // The last line was "a,1700000000.25 b,1700000100.75" before the cut.
    const out = parseNdmCascades('a,1 b,2\na,1700000000.25 b,1700000100.7', 'cascade.txt', { vocabulary: vocabulary(), report });
    expect(out).toHaveLength(2); // still a valid line: kept, but the user is told
    expect(report.notices).toEqual([
      {
        kind: 'truncated-last-line',
        location: { file: 'cascade.txt', line: 2, column: 19 },
        problem: expect.stringMatching(/the last line has no newline and its last timestamp "1700000100\.7" is shorter than the one before it \("1700000000\.25"\): was the file cut mid-number\?/),
      },
    ]);
  });

  test('a complete file without a final newline gets no notice', () => {
    const report = new ParseReport();
    parseNdmCascades('a,1 b,2\na,10 b,20', 'cascade.txt', { vocabulary: vocabulary(), report });
    expect(report.notices).toEqual([]);
  });

  test('--lenient with 5,000 duplicates on one line is linear: columns are found in one pass', () => {
    // Counting String.prototype.indexOf calls instead of timing: the old column lookup rescanned
    // the line for every problem (k calls for the k-th), about n^2/2 = 1.25e7 calls here.
    const n = 5000;
    const tokens = ['a,0', ...Array.from({ length: n }, (_, i) => `a,${i + 1}`)];
    const report = new ParseReport();
    const original = String.prototype.indexOf;
    let calls = 0;
    String.prototype.indexOf = function (this: string, ...args: [string, number?]) {
      calls++;
      return original.apply(this, args);
    };
    try {
      const out = parseNdmCascades(tokens.join(' ') + '\n', 'cascade.txt', { vocabulary: vocabulary(), lenient: true, report });
      expect(out[0].events).toEqual([{ user: vocabulary().indexOf('a'), time: 0 }]);
    } finally {
      String.prototype.indexOf = original;
    }
    expect(calls).toBeLessThan(4 * n);
    expect(report.counts.get('duplicate-user')).toBe(n);
    // The third example is the 3rd duplicate, "a,3", which starts at column 13 of "a,0 a,1 a,2 a,3".
    expect(report.examples.filter((w) => w.kind === 'duplicate-user').map((w) => w.location.column)).toEqual([5, 9, 13]);
  });
});

describe('TiDeH / SEISMIC: out of order names the offending line', () => {
  test('TiDeH', () => {
    const e = errorOf(() => parseTideh('4 17000.5\n0 100\n10 5\n30 6\n20 7\n40 8\n', 'RT1.txt'));
    expect(e.location).toMatchObject({ file: 'RT1.txt', line: 5 });
    expect(e.problem).toMatch(/time 20 .* comes after 30/);
  });

  test('SEISMIC', () => {
    const e = errorOf(() => parseSeismicCsv('relative_time_second,number_of_followers\n0,100\n10,5\n5,6\n40,8\n', 's.csv'));
    expect(e.location).toMatchObject({ file: 's.csv', line: 4 });
  });
});
