/**
 * Property-based tests (fast-check): every writer's output parses back to the same data, and every
 * parser, fed arbitrary or corrupted text, either returns data or throws our DataFormatError.
 */
import fc from 'fast-check';
import { DataFormatError, type Cascade, type MacroCascade } from '@cascade-lab/core';
import {
  Vocabulary,
  nodeVocabulary,
  parseDeepCas,
  parseIdx2u,
  parseInfVaeCascades,
  parseInfVaeGraph,
  parseInfopathCascades,
  parseInfopathNetwork,
  parseJsonl,
  parseLongCsv,
  parseNdmCascades,
  parseNetinfCascades,
  parseNetinfEdgeInfo,
  parseNetinfNetwork,
  parseSeismicCsv,
  parseTideh,
  parseWeibo,
  writeDeepCas,
  writeIdx2u,
  writeInfVaeCascades,
  writeInfVaeGraph,
  writeInfopathCascades,
  writeInfopathNetwork,
  writeJsonl,
  writeLongCsv,
  writeNdmCascades,
  writeNetinfCascades,
  writeNetinfNetwork,
  writeSeismicCsv,
  writeTideh,
  writeWeibo,
  type DeepCasCascade,
  type WeiboCascade,
} from './index.js';

const RUNS = { numRuns: 60 };
const idToken = fc.stringMatching(/^[A-Za-z0-9_.-]{1,8}$/);
// -0 is written as 0 by every format (JSON included): generate +0 only.
const time = fc.double({ min: -1e12, max: 1e12, noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x));
const nonNegTime = fc.double({ min: 0, max: 1e9, noNaN: true, noDefaultInfinity: true });
const followers = fc.oneof(fc.nat(), fc.double({ min: 0, max: 1e8, noNaN: true }));
const sortedTimes = (n: number, t = time) => fc.array(t, { minLength: n, maxLength: n }).map((a) => a.sort((x, y) => x - y));

/** Cascades over users 2..size-1 with distinct users each and sorted times. */
function cascadesOver(size: number, maxLen = 12, t = time) {
  return fc.array(
    fc.uniqueArray(fc.integer({ min: 2, max: size - 1 }), { minLength: 1, maxLength: Math.min(maxLen, size - 2) }).chain((users) =>
      sortedTimes(users.length, t).map((ts) => users.map((user, i) => ({ user, time: ts[i] }))),
    ),
    { minLength: 1, maxLength: 8 },
  );
}

describe('round trips: writer -> parser', () => {
  test('NDM cascades and idx2u.tsv', () => {
    const arb = fc.uniqueArray(idToken, { minLength: 1, maxLength: 20 }).chain((ids) => fc.tuple(fc.constant(ids), cascadesOver(ids.length + 2)));
    fc.assert(
      fc.property(arb, ([ids, evs]) => {
        const vocab = new Vocabulary(ids);
        const users = parseIdx2u(writeIdx2u(vocab), 'idx2u.tsv');
        expect(users.rawIds()).toEqual(ids);
        const back = parseNdmCascades(writeNdmCascades(evs.map((events, i) => ({ id: String(i), events })), vocab), 'c.txt', { vocabulary: users });
        expect(back.map((c) => c.events)).toEqual(evs);
      }),
      RUNS,
    );
  });

  test('Inf-VAE cascades (seed at 0) and graph', () => {
    const arb = fc.integer({ min: 3, max: 30 }).chain((n) =>
      fc.tuple(
        fc.constant(n),
        cascadesOver(n + 2, 10, nonNegTime).map((cs) => cs.map((events) => events.map((e, i) => (i === 0 ? { ...e, time: 0 } : e)))),
        fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 30 }),
      ),
    );
    fc.assert(
      fc.property(arb, ([n, evs, edges]) => {
        const vocab = nodeVocabulary(n);
        const cs: Cascade[] = evs.map((events, i) => ({ id: String(i), events }));
        expect(parseInfVaeCascades(writeInfVaeCascades(cs, vocab), 't.txt', { vocabulary: vocab }).map((c) => c.events)).toEqual(evs);
        const g = { numNodes: n, edges: Int32Array.from(edges.flat()) };
        expect(parseInfVaeGraph(writeInfVaeGraph(g), 'g.txt')).toEqual(g);
      }),
      RUNS,
    );
  });

  test('NETINF and InfoPath cascades and networks', () => {
    const arb = fc.integer({ min: 2, max: 15 }).chain((n) =>
      fc.tuple(
        fc.constant(n),
        fc.array(fc.stringMatching(/^[^\r\n]{0,6}$/), { minLength: n, maxLength: n }),
        cascadesOver(n + 2, 8, nonNegTime),
        fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 20 }),
        fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1), fc.array(fc.tuple(nonNegTime, nonNegTime), { minLength: 1, maxLength: 4 })), { maxLength: 6 }),
      ),
    );
    fc.assert(
      fc.property(arb, ([n, names, evs, edges, tv]) => {
        const nodes = names.map((name, id) => ({ id, name }));
        const vocabulary = nodeVocabulary(n);
        const cascades: Cascade[] = evs.map((events, i) => ({ id: `c${i}`, events }));
        const net = parseNetinfCascades(writeNetinfCascades({ nodes, vocabulary, cascades }), 'n.txt');
        expect(net.nodes).toEqual(nodes);
        expect(net.cascades.map((c) => c.events)).toEqual(evs);
        const ip = parseInfopathCascades(writeInfopathCascades({ nodes, vocabulary, cascades }), 'i.txt');
        expect(ip.cascades).toEqual(cascades);
        const sn = { nodes, edges: Int32Array.from(edges.flat()) };
        expect(parseNetinfNetwork(writeNetinfNetwork(sn), 'e.txt')).toEqual(sn);
        const tvn = {
          nodes,
          edges: tv.map(([source, target, pairs]) => {
            const sorted = pairs.slice().sort((a, b) => a[0] - b[0]);
            return { source, target, times: Float64Array.from(sorted, (p) => p[0]), rates: Float64Array.from(sorted, (p) => p[1]) };
          }),
        };
        expect(parseInfopathNetwork(writeInfopathNetwork(tvn), 'v.txt')).toEqual(tvn);
      }),
      RUNS,
    );
  });

  const macro = (t = nonNegTime, withUser = false) =>
    fc.record({
      rootFollowers: followers,
      // A user retweets a cascade at most once (an error in JSON Lines, issue 21).
      events: (withUser ? fc.uniqueArray(fc.tuple(t, followers, idToken), { maxLength: 20, selector: ([, , user]) => user }) : fc.array(fc.tuple(t, followers, idToken), { maxLength: 20 })).map((a) =>
        a
          .map(([time, f, user]) => (withUser ? { time, followers: f, user } : { time, followers: f }))
          .sort((x, y) => x.time - y.time),
      ),
    });

  test('TiDeH and SEISMIC files', () => {
    fc.assert(
      fc.property(macro(), nonNegTime, (c, startDays) => {
        const cascade: MacroCascade = { id: 'x', rootTime: 0, ...c };
        const t = parseTideh(writeTideh(cascade, startDays), 'RT.txt', { id: 'x' });
        expect(t).toEqual({ cascade, startDays });
        expect(parseSeismicCsv(writeSeismicCsv(cascade), 's.csv', { id: 'x' })).toEqual(cascade);
      }),
      RUNS,
    );
  });

  test('long CSV (integer times; ids with commas and quotes)', () => {
    const arb = fc.uniqueArray(fc.stringMatching(/^[^\r\n]{1,6}$/), { minLength: 1, maxLength: 5 }).chain((ids) =>
      fc.tuple(...ids.map((id) => fc.tuple(fc.constant(id), fc.integer({ min: -1e9, max: 2e9 }), macro(fc.integer({ min: 0, max: 1e7 }), true)))),
    );
    fc.assert(
      fc.property(arb, (rows) => {
        const cs: MacroCascade[] = rows.map(([id, rootTime, c]) => ({ id, rootTime, ...c }));
        expect(parseLongCsv(writeLongCsv(cs), 'l.csv')).toEqual(cs);
      }),
      RUNS,
    );
  });

  test('Weibo paths', () => {
    const arb = fc.uniqueArray(fc.stringMatching(/^[0-9]{1,6}$/), { minLength: 1, maxLength: 4 }).chain((ids) =>
      fc.tuple(
        ...ids.map((id) =>
          fc.record({
            id: fc.constant(id),
            rootUser: idToken.filter((s) => !/[/:]/.test(s)),
            rootTime: fc.integer({ min: 0, max: 2e9 }),
            paths: fc.array(fc.tuple(fc.array(fc.stringMatching(/^[a-z0-9]{1,4}$/), { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 1e6 })), { maxLength: 10 }),
          }),
        ),
      ),
    );
    fc.assert(
      fc.property(arb, (raw) => {
        const cs: WeiboCascade[] = raw.map((r) => ({ ...r, paths: r.paths.map(([nodes, time]) => ({ nodes: [r.rootUser, ...nodes], time })).sort((a, b) => a.time - b.time) }));
        expect(parseWeibo(writeWeibo(cs), 'w.txt')).toEqual(cs);
      }),
      RUNS,
    );
  });

  test('DeepCas', () => {
    const node = fc.stringMatching(/^[0-9]{1,5}$/);
    const arb = fc.uniqueArray(node, { minLength: 1, maxLength: 4 }).chain((ids) =>
      fc.tuple(
        ...ids.map((id) =>
          fc
            .record({
              starters: fc.uniqueArray(node, { minLength: 1, maxLength: 3 }),
              date: fc.stringMatching(/^[0-9]{4}$/),
              edges: fc.array(fc.record({ source: node, target: node, weight: fc.nat(9) }), { maxLength: 8 }),
              labels: fc.array(fc.nat(100), { minLength: 1, maxLength: 3 }),
            })
            .map((r): DeepCasCascade => ({ id, ...r, numNodes: new Set([...r.starters, ...r.edges.flatMap((e) => [e.source, e.target])]).size })),
        ),
      ),
    );
    fc.assert(fc.property(arb, (cs) => expect(parseDeepCas(writeDeepCas(cs), 'd.txt')).toEqual(cs)), RUNS);
  });

  test('JSON Lines (all GammaCas fields)', () => {
    const arb = fc.uniqueArray(idToken, { minLength: 1, maxLength: 4 }).chain((ids) =>
      fc.tuple(
        ...ids.map((id) =>
          fc.record(
            {
              id: fc.constant(id),
              rootTime: time,
              rootFollowers: followers,
              events: macro(nonNegTime, true).map((m) => m.events),
              text: fc.array(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 5 }),
              news: fc.array(fc.record({ time, tokens: fc.array(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 4 }) }), { maxLength: 3 }),
            },
            { requiredKeys: ['id', 'rootTime', 'rootFollowers', 'events'] },
          ),
        ),
      ),
    );
    fc.assert(
      fc.property(arb, (cs) => {
        const back = parseJsonl(writeJsonl(cs as MacroCascade[]), 'c.jsonl');
        expect(back).toEqual(cs);
      }),
      RUNS,
    );
  });
});

describe('parsers throw nothing but DataFormatError', () => {
  const vocabulary = () => new Vocabulary(['a', 'b', '1', '2']);
  const parsers: [string, (text: string, lenient: boolean) => unknown][] = [
    ['ndm', (t, lenient) => parseNdmCascades(t, 'f', { vocabulary: vocabulary(), lenient })],
    ['ndm (growing vocabulary)', (t, lenient) => parseNdmCascades(t, 'f', { vocabulary: new Vocabulary(), extendVocabulary: true, lenient })],
    ['idx2u', (t, lenient) => parseIdx2u(t, 'f', { lenient })],
    ['infvae', (t, lenient) => parseInfVaeCascades(t, 'f', { vocabulary: nodeVocabulary(4), lenient })],
    ['infvae graph', (t, lenient) => parseInfVaeGraph(t, 'f', { lenient })],
    ['netinf', (t, lenient) => parseNetinfCascades(t, 'f', { lenient })],
    ['infopath', (t, lenient) => parseInfopathCascades(t, 'f', { lenient })],
    ['netinf network', (t, lenient) => parseNetinfNetwork(t, 'f', { lenient })],
    ['infopath network', (t, lenient) => parseInfopathNetwork(t, 'f', { lenient })],
    ['netinf edge info', (t, lenient) => parseNetinfEdgeInfo(t, 'f', { lenient })],
    ['tideh', (t, lenient) => parseTideh(t, 'f', { lenient })],
    ['seismic', (t, lenient) => parseSeismicCsv(t, 'f', { lenient })],
    ['long csv', (t, lenient) => parseLongCsv(t, 'f', { lenient })],
    ['weibo', (t, lenient) => parseWeibo(t, 'f', { lenient })],
    ['deepcas', (t, lenient) => parseDeepCas(t, 'f', { lenient })],
    ['jsonl', (t, lenient) => parseJsonl(t, 'f', { lenient })],
  ];
  // Valid samples of each format, to corrupt: random edits of real-looking text reach deeper code
  // paths than random strings.
  const samples = [
    'a,1 b,2\n1,3.5 2,4\n',
    '0\t<blank>\n1\t</s>\n2\ta\n',
    '0 1 5.0 2 7.5\n3 1 2\n',
    '4 2\n0 1\n1 2\n',
    '0,0\n1,1\n\n0,1.5,1,2\n5;0,1,1,2\n',
    '0,0\n1,1\n\n0,1,0,0.5,1,0.2\n',
    'src dst vol marginal_gain median_timediff average_timediff\n0/1/3/2.5/1/1\n',
    '2 0.5\n0 10\n5 3\n9 4\n',
    'relative_time_second,number_of_followers\n0,1\n9,5\n',
    'cascade_id,magnitude,time,user\n"a,b",10,100,u1\na,3,110,u2\n',
    '1\t7\t1464739201\t3\t7:0 7/8:30 7/8/9:10\n',
    '1\t5 6\t2005\t3\t5:7:1\t1 2\n',
    '{"id":"c","rootFollowers":3,"events":[{"time":1,"followers":2}],"text":"hi","news":[{"time":-5,"tokens":["x"]}]}\n',
  ];
  const corrupted = fc
    .tuple(fc.constantFrom(...samples), fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.string({ maxLength: 3, unit: 'binary' })), { maxLength: 4 }))
    .map(([s, edits]) => {
      let t = s;
      for (const [pos, del, ins] of edits) {
        const p = pos % (t.length + 1);
        t = t.slice(0, p) + ins + t.slice(p + del);
      }
      return t;
    });
  const text = fc.oneof(fc.string({ maxLength: 60, unit: 'binary' }), fc.string({ maxLength: 60, unit: fc.constantFrom(...'0123456789,.;:/\t \n\r-e"{}[]abN<>s'.split('')) }), corrupted);

  test.each(parsers)('%s', (_, parse) => {
    fc.assert(
      fc.property(text, fc.boolean(), (t, lenient) => {
        try {
          parse(t, lenient);
        } catch (e) {
          if (!(e instanceof DataFormatError)) throw e;
          expect(e.location.file).toBe('f');
        }
      }),
      { numRuns: 300 },
    );
  });
});
