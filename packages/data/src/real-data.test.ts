import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { END_USER, PAD_USER } from '@cascade-lab/core';
import { DATA_DIR, dataPath } from './data-dir.test-util.js';
import {
  parseDeepCas,
  parseIdx2u,
  parseInfVaeGraph,
  parseInfopathCascades,
  parseInfopathNetwork,
  parseNetinfCascades,
  parseNetinfEdgeInfo,
  parseNetinfNetwork,
  parseSeismicCsv,
  parseTideh,
  parseWeibo,
  readMacroscopicSource,
  readMicroscopicSource,
} from './index.js';
import { CHECKSUMS } from './registry-checksums.js';
import { REGISTRY } from './registry.js';
import { sha256File } from './store.js';

const read = (...p: string[]) => readFileSync(dataPath(...p), 'utf8');

/** Every file under the data directory, relative (micro/irvine/cascade.txt ...). */
function allFiles(): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const f of readdirSync(path.join(DATA_DIR, rel))) {
      const r = rel ? `${rel}/${f}` : f;
      if (statSync(path.join(DATA_DIR, r)).isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out.sort();
}

// Files that are documentation or licences, not data.
const NOT_DATA = new Set(['PROVENANCE.md', 'micro/netinf-example/SNAP-License.txt', 'macro/tideh-rt/LICENSE.txt']);

describe('every file in the shared data directory loads', () => {
  test.each(allFiles().filter((f) => !NOT_DATA.has(f)))('%s', async (rel) => {
    const text = read(rel);
    const file = dataPath(rel);
    const dir = rel.split('/').slice(0, 2).join('/');
    const base = path.basename(rel);
    switch (dir) {
      case 'micro/irvine':
      case 'micro/memetracker': {
        const src = await readMicroscopicSource(dataPath(dir), 'ndm');
        expect(src.parts.train!.length + src.parts.test!.length).toBeGreaterThan(0);
        if (base === 'idx2u.tsv') expect(parseIdx2u(text, file).size).toBe(src.users.size);
        break;
      }
      case 'micro/christianity': {
        if (base === 'graph.txt') expect(parseInfVaeGraph(text, file).numNodes).toBe(2897);
        else expect((await readMicroscopicSource(dataPath(dir), 'infvae')).users.size).toBe(2899);
        break;
      }
      case 'micro/netinf-example':
        if (base === 'example-cascades.txt') expect(parseNetinfCascades(text, file).cascades.length).toBe(54);
        else if (base === 'network-edge.info') expect(parseNetinfEdgeInfo(text, file).length).toBe(5);
        else expect(parseNetinfNetwork(text, file).nodes.length).toBe(32);
        break;
      case 'micro/infopath-example':
        if (base === 'example-cascades.txt') expect(parseInfopathCascades(text, file).cascades.length).toBe(1000);
        else expect(parseInfopathNetwork(text, file).edges.length).toBe(57);
        break;
      case 'macro/tideh-rt':
        expect(parseTideh(text, file).cascade.events.length).toBeGreaterThan(2000);
        break;
      case 'macro/seismic-tweet':
        expect(parseSeismicCsv(text, file).events.length).toBe(15562);
        break;
      case 'macro/weibo-sample':
        expect(parseWeibo(text, file).length).toBe(30);
        break;
      case 'macro/deepcas-test-net':
        expect(parseDeepCas(text, file).length).toBe({ 'cascade_train.txt': 387, 'cascade_val.txt': 42, 'cascade_test.txt': 131 }[base]);
        break;
      default:
        throw new Error(`no loader assigned to ${rel}: add it to this test and to the registry`);
    }
  });
});

describe('real datasets: contents', () => {
  test('irvine: 424 train + 47 test cascades (line counts of cascade.txt / cascadetest.txt), 540 users', async () => {
    const src = await readMicroscopicSource(dataPath('micro/irvine'), 'ndm');
    expect(src.parts.train).toHaveLength(424);
    expect(src.parts.test).toHaveLength(47);
    expect(src.users.size).toBe(542);
    expect(src.users.rawIdOf(PAD_USER)).toBe('<blank>');
    expect(src.users.rawIdOf(END_USER)).toBe('</s>');
    // idx2u.tsv line 3 is "2\t229"; cascade.txt line 1 starts "128,1085106416 100,1085156286".
    expect(src.users.rawIdOf(2)).toBe('229');
    const first = src.parts.train![0];
    expect(src.users.rawIdOf(first.events[0].user)).toBe('128');
    expect(first.events[0].time).toBe(1085106416);
    expect(first.events[1].time).toBe(1085156286);
    expect(first.events).toHaveLength(13);
  });

  test('memetracker: 7,474 + 830 cascades, 498 users, raw user "0" is a real user', async () => {
    const src = await readMicroscopicSource(dataPath('micro/memetracker'), 'ndm');
    expect(src.parts.train).toHaveLength(7474);
    expect(src.parts.test).toHaveLength(830);
    expect(src.users.size - 2).toBe(498);
    expect(src.users.indexOf('0')).toBeGreaterThanOrEqual(2);
  });

  test('christianity: 411/59/119 cascades, seed at time 0, graph with 35,624 listed edges over 2,897 nodes', async () => {
    const src = await readMicroscopicSource(dataPath('micro/christianity'), 'infvae');
    expect([src.parts.train!.length, src.parts.validation!.length, src.parts.test!.length]).toEqual([411, 59, 119]);
    // test.txt line 1: "16 10 780860.0 1310 8546951.0 ..." -> node 16 at 0, node 10 at 780860.
    const c = src.parts.test![0];
    expect(src.users.rawIdOf(c.events[0].user)).toBe('16');
    expect(c.events[0].time).toBe(0);
    expect(src.users.rawIdOf(c.events[1].user)).toBe('10');
    expect(c.events[1].time).toBe(780860);
    expect(src.graph!.directed).toBe(false);
    expect(src.graph!.edges.length / 2).toBe(35624);
    expect(src.graph!.numNodes).toBe(2899);
  });

  test('netinf example: descending times are read ascending; ground-truth graph is directed', async () => {
    const src = await readMicroscopicSource(dataPath('micro/netinf-example'), 'netinf');
    expect(src.parts.all).toHaveLength(54);
    // First cascade line: "14,11.373556,5,9.975346,9,9.750348,31,7.588998,0,4.883578,23,1.518870,7,0.000000"
    const c = src.parts.all![0];
    expect(c.events.map((e) => src.users.rawIdOf(e.user))).toEqual(['7', '23', '0', '31', '9', '5', '14']);
    expect(c.events.map((e) => e.time)).toEqual([0, 1.51887, 4.883578, 7.588998, 9.750348, 9.975346, 11.373556]);
    expect(src.graph!.directed).toBe(true);
    // example-network.txt: 96 lines = 32 nodes + 1 blank + 63 edges.
    expect(src.graph!.edges.length / 2).toBe(63);
  });

  test('infopath example: 1,000 cascades with their ids, 57 time-varying edges', async () => {
    const src = await readMicroscopicSource(dataPath('micro/infopath-example'), 'infopath');
    expect(src.parts.all).toHaveLength(1000);
    expect(src.parts.all![0].id).toBe('0');
    // "0;17,62.484929,25,62.911497,..." (see the file)
    expect(src.parts.all![0].events[0]).toEqual({ user: src.users.indexOf('17'), time: 62.484929 });
    expect(src.graph!.edges.length / 2).toBe(57);
    const net = parseInfopathNetwork(read('micro/infopath-example/example-network.txt'), 'example-network.txt');
    // first edge line: "1,12,0.000000,0.010008,1.000000,0.010008,..."
    expect(net.edges[0].source).toBe(1);
    expect(net.edges[0].target).toBe(12);
    expect(net.edges[0].rates[0]).toBe(0.010008);
  });

  test('tideh: 100 cascades in RT1..RT100 order, declared counts match; RT1 header "4963 0.500381944444"', async () => {
    const src = await readMacroscopicSource(dataPath('macro/tideh-rt'), 'tideh');
    expect(src.parts.all).toHaveLength(100);
    expect(src.parts.all![0].id).toBe('RT1');
    expect(src.parts.all![1].id).toBe('RT2');
    expect(src.parts.all![99].id).toBe('RT100');
    const rt1 = parseTideh(read('macro/tideh-rt/RT1.txt'), 'RT1.txt');
    expect(rt1.startDays).toBe(0.500381944444);
    expect(rt1.cascade.rootFollowers).toBe(90);
    expect(rt1.cascade.events).toHaveLength(4963);
    expect(rt1.cascade.events[0]).toEqual({ time: 292, followers: 433344 });
  });

  test('weibo: paths sorted by time, root entry removed, n = paths + 1', () => {
    const cs = parseWeibo(read('macro/weibo-sample/dataset.txt'), 'dataset.txt');
    // line 1: id 14709, root 1, time 1464739201, n 23
    expect(cs[0]).toMatchObject({ id: '14709', rootUser: '1', rootTime: 1464739201 });
    expect(cs[0].paths).toHaveLength(22);
    expect(cs[0].paths[0]).toEqual({ nodes: ['1', '850430'], time: 481 });
    for (const c of cs) for (let i = 1; i < c.paths.length; i++) expect(c.paths[i].time).toBeGreaterThanOrEqual(c.paths[i - 1].time);
  });
});

describe('registry checksums', () => {
  test('every file of the data directory has a registered checksum that matches it', async () => {
    const files = allFiles().filter((f) => f !== 'PROVENANCE.md');
    expect(Object.keys(CHECKSUMS).sort()).toEqual(files);
    for (const f of files) {
      const [sha, bytes] = CHECKSUMS[f];
      expect([f, await sha256File(dataPath(f))]).toEqual([f, sha]);
      expect(statSync(dataPath(f)).size).toBe(bytes);
    }
  });

  test('every registry file we have a copy of carries its checksum', () => {
    for (const e of REGISTRY) {
      for (const f of e.files) {
        const key = `${e.localDir}/${f.path}`;
        if (CHECKSUMS[key]) expect([key, f.sha256]).toEqual([key, CHECKSUMS[key][0]]);
      }
    }
  });
});
