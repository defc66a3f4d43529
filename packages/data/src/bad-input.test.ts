/**
 * The bad-input suite: each problem gives a DataFormatError naming the file, the line and the
 * problem; in lenient mode the problems a field tolerates become counted warnings instead.
 */
import { DataFormatError } from '@cascade-lab/core';
import {
  ParseReport,
  Vocabulary,
  nodeVocabulary,
  parseDeepCas,
  parseIdx2u,
  parseInfVaeCascades,
  parseInfVaeGraph,
  parseInfopathCascades,
  parseJsonl,
  jsonlJsonSchema,
  parseLongCsv,
  parseNdmCascades,
  parseNetinfCascades,
  parseSeismicCsv,
  parseTideh,
  parseWeibo,
  type ProblemKind,
} from './index.js';

function errorOf(fn: () => unknown): DataFormatError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DataFormatError) return e;
    throw e;
  }
  throw new Error('expected a DataFormatError, nothing was thrown');
}

function expectProblem(fn: () => unknown, file: string, line: number | undefined, problem: RegExp): void {
  const e = errorOf(fn);
  expect(e.location.file).toBe(file);
  expect(e.location.line).toBe(line);
  expect(e.problem).toMatch(problem);
  expect(e.message.startsWith(line === undefined ? `${file}: ` : `${file}:${line}`)).toBe(true);
  expect(e.code).toBe('DATA_FORMAT');
}

const vocab = () => new Vocabulary(['a', 'b', 'c']);
const ndm = (text: string, lenient = false, report = new ParseReport()) => parseNdmCascades(text, 'cascade.txt', { vocabulary: vocab(), lenient, report });

describe('NDM format', () => {
  test.each<[string, string, number, RegExp]>([
    ['malformed line', 'a,1 b,2\na,1 b\n', 2, /expected "user,timestamp", got "b"/],
    ['non-numeric time', 'a,1 b,2\na,1 b,x2\n', 2, /timestamp "x2" of user "b" is not a number/],
    ['NaN is not a number', 'a,1 b,NaN\n', 1, /timestamp "NaN"/],
    ['events out of order', 'a,1 b,2\nc,3\na,5 b,3\n', 3, /out of time order: time 3 \(position 2\) comes after 5/],
    ['unknown user id', 'a,1 zed,2\n', 1, /user "zed" is not in the user vocabulary/],
    ['user infected twice', 'a,1 b,2 a,3\n', 1, /user "a" is infected twice/],
    ['truncated last line', 'a,1 b,2\na,1 b,', 2, /truncated last line/],
  ])('%s', (_, text, line, problem) => expectProblem(() => ndm(text), 'cascade.txt', line, problem));

  test('the column points at the bad field ("a,1  b,x2": x2 starts at column 8)', () => {
    const e = errorOf(() => ndm('a,1  b,x2\n'));
    expect(e.location.column).toBe(8);
    expect(e.message).toMatch(/^cascade\.txt:1:8: /);
    expect(errorOf(() => ndm('a,1 b,2 c,3 a,4\n')).location.column).toBe(13);
  });

  test('empty file, and a file of blank lines', () => {
    expectProblem(() => ndm(''), 'cascade.txt', 1, /the file is empty/);
    expectProblem(() => ndm('\r\n \n\t\n'), 'cascade.txt', 1, /the file is empty/);
  });

  test('lenient: each tolerable problem is counted, the rest of the data kept', () => {
    const report = new ParseReport();
    const text = ['a,1 b,2', 'a,1 b', 'a,1 b,x', 'b,5 a,3', 'a,1 zed,2 c,3', 'a,1 b,2 a,3', 'c,1 b,'].join('\n');
    const cs = ndm(text, true, report);
    const counts = Object.fromEntries(report.counts) as Partial<Record<ProblemKind, number>>;
    expect(counts).toEqual({ 'malformed-line': 1, 'bad-number': 1, 'out-of-order': 1, 'unknown-user': 1, 'duplicate-user': 1, 'truncated-last-line': 1 });
    expect(report.total).toBe(6);
    const u = vocab();
    const ids = (i: number) => cs[i].events.map((e) => u.rawIdOf(e.user));
    // line 1 kept; line 2 skipped; line 3 keeps "a"; line 4 sorted; line 5 drops zed; line 6 drops the 2nd a; line 7 skipped.
    expect(cs.map((c) => c.id)).toEqual(['cascade.txt:1', 'cascade.txt:3', 'cascade.txt:4', 'cascade.txt:5', 'cascade.txt:6']);
    expect([ids(0), ids(1), ids(2), ids(3), ids(4)]).toEqual([['a', 'b'], ['a'], ['a', 'b'], ['a', 'c'], ['a', 'b']]);
    expect(cs[2].events.map((e) => e.time)).toEqual([3, 5]);
    expect(report.summary()[0]).toMatch(/^1 malformed-line \(line skipped\), e\.g\. cascade\.txt:2: /);
  });

  test('lenient mode does not make an empty file acceptable', () => {
    expectProblem(() => ndm('', true), 'cascade.txt', 1, /empty/);
  });

  test('idx2u.tsv: reserved rows, sequence, duplicates', () => {
    expectProblem(() => parseIdx2u('0\t<blank>\n1\t</s>\n3\tx\n', 'idx2u.tsv'), 'idx2u.tsv', 3, /index 3 out of sequence \(expected 2\)/);
    expectProblem(() => parseIdx2u('0\tx\n', 'idx2u.tsv'), 'idx2u.tsv', 1, /row 0 must be <blank>/);
    expectProblem(() => parseIdx2u('0\t<blank>\n1\t</s>\n2\tx\n3\tx\n', 'idx2u.tsv'), 'idx2u.tsv', 4, /listed twice/);
    expectProblem(() => parseIdx2u('0\t<blank>\n1\t</s>\nfoo\n', 'idx2u.tsv'), 'idx2u.tsv', 3, /expected "index<TAB>user id"/);
    expectProblem(() => parseIdx2u('', 'idx2u.tsv'), 'idx2u.tsv', 1, /empty/);
  });
});

describe('Inf-VAE format', () => {
  const parse = (text: string, lenient = false) => parseInfVaeCascades(text, 'train.txt', { vocabulary: nodeVocabulary(5), lenient });
  test.each<[string, string, number, RegExp]>([
    ['malformed line (even field count)', '0 1 5.0\n0 1\n', 2, /odd number of fields, got 2/],
    ['non-numeric time', '0 1 5.0 2 soon\n', 1, /time "soon" of user "2" is not a number/],
    ['events out of order', '0 1 5.0 2 3.0\n', 1, /out of time order/],
    ['unknown user id', '0 7 5.0\n', 1, /user "7" is not a node of the social graph/],
    ['negative user id', '0 -1 5.0\n', 1, /not a node id/],
    ['truncated last line', '0 1 5.0\n0 1 5.0 2', 2, /truncated last line/],
  ])('%s', (_, text, line, problem) => expectProblem(() => parse(text), 'train.txt', line, problem));
  test('empty file', () => expectProblem(() => parse(''), 'train.txt', 1, /empty/));
  test('graph: header, unknown node, edge count', () => {
    expectProblem(() => parseInfVaeGraph('3\n0 1\n', 'graph.txt'), 'graph.txt', 1, /first line must be/);
    expectProblem(() => parseInfVaeGraph('3 1\n0 5\n', 'graph.txt'), 'graph.txt', 2, /outside 0..2/);
    expectProblem(() => parseInfVaeGraph('3 2\n0 1\n', 'graph.txt'), 'graph.txt', undefined, /declares 2 edges, the file has 1/);
    const report = new ParseReport();
    expect(parseInfVaeGraph('3 2\n0 1\n', 'graph.txt', { lenient: true, report }).edges).toEqual(Int32Array.from([0, 1]));
    expect(report.counts.get('count-mismatch')).toBe(1);
  });
});

describe('SNAP NETINF / InfoPath formats', () => {
  const nodes = '0,0\n1,1\n2,2\n\n';
  test.each<[string, string, number, RegExp]>([
    ['malformed line (odd field count)', `${nodes}0,1.5,1\n`, 5, /an even number of fields, got 3/],
    ['non-numeric time', `${nodes}0,1.5,1,later\n`, 5, /time "later" of node "1" is not a number/],
    ['unknown node', `${nodes}0,1.5,9,2\n`, 5, /node "9" is not in the node block/],
    ['truncated last line', `${nodes}0,1.5,1,2\n0,1.5,1`, 6, /truncated last line/],
    ['bad node block', '0,0\nx\n\n0,1\n', 2, /expected "id,name" in the node block/],
  ])('NETINF: %s', (_, text, line, problem) => expectProblem(() => parseNetinfCascades(text, 'c.txt'), 'c.txt', line, problem));

  test('NETINF: out-of-order times are the format (SNAP sorts): no error', () => {
    const f = parseNetinfCascades(`${nodes}2,3,1,2,0,1\n`, 'c.txt');
    expect(f.cascades[0].events.map((e) => e.time)).toEqual([1, 2, 3]);
  });

  test('NETINF: no blank line / empty file', () => {
    expectProblem(() => parseNetinfCascades('0,0\n1,1\n', 'c.txt'), 'c.txt', 2, /no blank line after the node block/);
    expectProblem(() => parseNetinfCascades('', 'c.txt'), 'c.txt', 1, /empty/);
  });

  test('InfoPath: missing cascade id, duplicate id', () => {
    expectProblem(() => parseInfopathCascades(`${nodes}0,1.5\n`, 'i.txt'), 'i.txt', 5, /expected "cascade_id;id,time,...", got "0,1.5"/);
    expectProblem(() => parseInfopathCascades(`${nodes}7;0,1\n7;1,2\n`, 'i.txt'), 'i.txt', 6, /cascade id "7" is used twice/);
  });
});

describe('retweet lists: TiDeH, SEISMIC, long CSV', () => {
  test.each<[string, string, number, RegExp]>([
    ['malformed line', '2 0.5\n0 10\n5 3 1\n9 4\n', 3, /expected "<seconds> <followers>"/],
    ['non-numeric time', '2 0.5\n0 10\nfive 3\n9 4\n', 3, /time "five" is not a non-negative number/],
    ['negative follower count', '2 0.5\n0 10\n5 -3\n9 4\n', 3, /follower count "-3"/],
    ['events out of order', '2 0.5\n0 10\n9 3\n5 4\n', 4, /out of time order/],
    ['root not at time 0', '1 0.5\n3 10\n5 4\n', 2, /root and must be at time 0/],
    ['declared count differs', '3 0.5\n0 10\n5 3\n9 4\n', 1, /declares 3 retweets, the file has 2/],
    ['truncated last line', '2 0.5\n0 10\n5 3\n9', 4, /truncated last line/],
    ['bad header', 'n=2\n0 10\n', 1, /first line must be/],
  ])('TiDeH: %s', (_, text, line, problem) => expectProblem(() => parseTideh(text, 'RT1.txt'), 'RT1.txt', line, problem));

  test('TiDeH lenient: a truncated last line is dropped and the count mismatch then counted', () => {
    const report = new ParseReport();
    const t = parseTideh('2 0.5\n0 10\n5 3\n9', 'RT1.txt', { lenient: true, report });
    expect(t.cascade.events).toEqual([{ time: 5, followers: 3 }]);
    expect(Object.fromEntries(report.counts)).toEqual({ 'truncated-last-line': 1, 'count-mismatch': 1 });
  });

  test.each<[string, string, number, RegExp]>([
    ['bad header', 'time,followers\n0,1\n', 1, /expected the header "relative_time_second,number_of_followers"/],
    ['malformed line', 'relative_time_second,number_of_followers\n0,1\n4;5\n', 3, /expected "time,followers"/],
    ['non-numeric time', 'relative_time_second,number_of_followers\n0,1\n4s,5\n', 3, /time "4s"/],
    ['events out of order', 'relative_time_second,number_of_followers\n0,1\n9,5\n4,5\n', 4, /out of time order/],
    ['truncated last line', 'relative_time_second,number_of_followers\n0,1\n9,5\n10,', 4, /truncated last line/],
  ])('SEISMIC: %s', (_, text, line, problem) => expectProblem(() => parseSeismicCsv(text, 'tweet.csv'), 'tweet.csv', line, problem));

  const H = 'cascade_id,magnitude,time,user\n';
  test.each<[string, string, number, RegExp]>([
    ['bad header', 'id,followers,t\n', 1, /expected a header with the columns/],
    ['malformed line', `${H}a,10,100,u1\na,10,105\n`, 3, /expected 4 fields, got 3/],
    ['unbalanced quote', `${H}"a,10,100,u1\n`, 2, /unbalanced quote/],
    ['non-numeric time', `${H}a,10,100,u1\na,3,1e,u2\n`, 3, /time "1e"/],
    ['events out of order', `${H}a,10,100,u1\na,3,120,u2\na,3,110,u3\n`, 4, /tweet at 110 comes after one at 120/],
    ['before the root', `${H}a,10,100,u1\na,3,90,u2\n`, 3, /before the cascade's first row/],
    ['truncated last line', `${H}a,10,100,u1\na,3,1`, 3, /truncated last line/],
  ])('long CSV: %s', (_, text, line, problem) => expectProblem(() => parseLongCsv(text, 'c.csv'), 'c.csv', line, problem));

  test('long CSV: relative times, interleaved cascades, any column order', () => {
    const cs = parseLongCsv('time,cascade_id,magnitude\n1000,x,5\n1000,y,7\n1010,x,2\n1060,y,3\n1070,x,4\n', 'c.csv');
    expect(cs).toEqual([
      { id: 'x', rootTime: 1000, rootFollowers: 5, events: [{ time: 10, followers: 2 }, { time: 70, followers: 4 }] },
      { id: 'y', rootTime: 1000, rootFollowers: 7, events: [{ time: 60, followers: 3 }] },
    ]);
  });
});

describe('Weibo path format and DeepCas format', () => {
  const ok = '1\t7\t1464739201\t3\t7:0 7/8:30 7/8/9:10';
  test('paths are sorted; the root entry counted in n', () => {
    const [c] = parseWeibo(ok, 'd.txt');
    expect(c.paths).toEqual([{ nodes: ['7', '8', '9'], time: 10 }, { nodes: ['7', '8'], time: 30 }]);
  });
  test.each<[string, string, number, RegExp]>([
    ['malformed line', '1\t7\t1464739201\t3\n', 1, /expected 5 tab-separated fields/],
    ['non-numeric time', '1\t7\t1464739201\t3\t7:0 7/8:3o 7/8/9:10\n', 1, /time "3o" of path "7\/8:3o"/],
    ['non-numeric publication time', '1\t7\tjune\t3\t7:0 7/8:30 7/8/9:10\n', 1, /publication time "june"/],
    ['path from another root', '1\t7\t1464739201\t3\t7:0 5/8:30 7/8/9:10\n', 1, /does not start at the root user "7"/],
    ['count mismatch', '1\t7\t1464739201\t4\t7:0 7/8:30 7/8/9:10\n', 1, /declares 4 participants, lists 3/],
    ['truncated last line', `${ok}\n1\t7\t1464739201\t3\t7:0 7/8:30 7/8/9`, 2, /truncated last line/],
  ])('Weibo: %s', (_, text, line, problem) => expectProblem(() => parseWeibo(text, 'd.txt'), 'd.txt', line, problem));

  test.each<[string, string, number, RegExp]>([
    ['malformed line', '1\t5 6\t2005\t3\t5:7:1\n', 1, /expected 6 tab-separated fields/],
    ['bad edge', '1\t5 6\t2005\t3\t5:7\t1 2\n', 1, /expected an edge "src:tgt:weight", got "5:7"/],
    ['non-numeric label', '1\t5 6\t2005\t3\t5:7:1\t1 two\n', 1, /label "two"/],
    ['node count mismatch', '1\t5 6\t2005\t4\t5:7:1\t1 2\n', 1, /num_nodes says 4, the starters and edges have 3/],
    ['empty file', '', 1, /empty/],
  ])('DeepCas: %s', (_, text, line, problem) => expectProblem(() => parseDeepCas(text, 'cascade_train.txt'), 'cascade_train.txt', line, problem));
});

describe('JSON Lines', () => {
  const good = { id: 'c1', rootTime: 1600000000, rootFollowers: 10, events: [{ time: 5, followers: 1 }] };
  const line = (o: unknown) => JSON.stringify(o);
  test.each<[string, string, number, RegExp]>([
    ['malformed line', `${line(good)}\n{"id": "c2",\n`, 2, /not valid JSON/],
    ['non-numeric time', line({ ...good, events: [{ time: 'soon', followers: 1 }] }), 1, /events\.0\.time: /],
    ['missing field', line({ id: 'x', events: [] }), 1, /rootFollowers/],
    ['unknown field', line({ ...good, retweets: 3 }), 1, /retweets/],
    ['events out of order', line({ ...good, events: [{ time: 5, followers: 1 }, { time: 2, followers: 1 }] }), 1, /events\.1: time 2 comes after 5/],
    ['event after observedUntil', line({ ...good, observedUntil: 3 }), 1, /after observedUntil/],
    ['news with both text and tokens', line({ ...good, news: [{ time: 0, text: 'a', tokens: ['a'] }] }), 1, /exactly one of `tokens` and `text`/],
    ['truncated last line', `${line(good)}\n{"id": "c2", "rootFollowers": 3, "events": [`, 2, /truncated last line/],
  ])('%s', (_, text, lineNo, problem) => expectProblem(() => parseJsonl(text, 'c.jsonl'), 'c.jsonl', lineNo, problem));

  test('raw text is tokenized; news keeps its times', () => {
    const [c] = parseJsonl(line({ ...good, text: 'Breaking: #Flood in Chennai!', news: [{ time: -3600, text: 'Rain, rain' }] }), 'c.jsonl');
    expect(c.text).toEqual(['breaking', '#flood', 'in', 'chennai']);
    expect(c.news).toEqual([{ time: -3600, tokens: ['rain', 'rain'] }]);
  });
});

test('JSON Lines: 1e999 (Infinity) is refused; the JSON Schema export describes the fields', () => {
  expect(() => parseJsonl('{"id":"a","rootFollowers":1e999,"events":[]}', 'c.jsonl')).toThrow(DataFormatError);
  const schema = jsonlJsonSchema() as { properties: Record<string, { minimum?: number }>; required: string[] };
  expect(schema.required.sort()).toEqual(['events', 'id', 'rootFollowers']);
  expect(schema.properties.rootFollowers.minimum).toBe(0);
});
