// InfoPath against NetRate on a synthetic network whose rates change in time (issue 17): the true
// rate of a few edges over time, InfoPath's tracked estimate after each step, and NetRate's single
// maximum-likelihood rate over all the data. Writes plugins/infopath/docs/tracking.{png,json}.
//   npx tsc -b tsconfig.build.json && node --import tsx apps/experiment-runner/scripts/infopath-tracking.ts
// Lives in the runner because it uses both plugins and the runner's plotting helpers (plugins
// never depend on each other or on the app).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@cascade-lab/core';
import { fitInfoPath } from '@cascade-lab/plugin-infopath';
import { fitNetRate } from '@cascade-lab/plugin-netrate';
import { generateTimeVaryingCascades, rateAt, type TimeVaryingEdge } from '@cascade-lab/simulation';
import { renderPng } from '../src/plots.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const outDir = join(root, 'plugins/infopath/docs');

// The setting of plugins/infopath's tracking test: 30 users, about 2 edges each (a third constant,
// a third switching on or off, a third oscillating), 10,000 cascades over 1000 time units, each
// observed for 1 unit.
const d = generateTimeVaryingCascades({ numUsers: 30, averageOutDegree: 2, rateRange: [0.5, 1.5], numCascades: 10000, timeSpan: 1000, window: 1, rng: Rng.fromSeed(5) });
const record = { sources: d.edges.map((e) => e.source), targets: d.edges.map((e) => e.target) };
const info = fitInfoPath(d.cascades, d.numNodes, {
  delay: 'exponential',
  powerLawMinDelay: 1,
  steps: 100,
  sampling: 'exponential',
  samplingScale: 0.05,
  batchSize: 1000,
  stepSize: 0.5,
  iterationsPerStep: 1,
  rateFloor: 1e-3,
  record,
  rng: Rng.fromSeed(1),
});
const net = fitNetRate(d.cascades, d.numNodes, { delay: 'exponential', powerLawMinDelay: 1 });
const netRate = (e: TimeVaryingEdge): number => {
  for (let k = 0; k < net.rates.length; k++) if (net.sources[k] === e.source && net.targets[k] === e.target) return net.rates[k];
  return 0;
};

// Mean absolute error of each method against the truth over the steps after the first ten, per kind.
const E = d.edges.length;
const K = info.stepTimes.length;
const errors: Record<string, { infopath: number; netrate: number; n: number }> = {};
for (let e = 0; e < E; e++) {
  const kind = d.edges[e].pattern.kind;
  errors[kind] ??= { infopath: 0, netrate: 0, n: 0 };
  for (let k = 10; k < K; k++) {
    const truth = rateAt(d.edges[e].pattern, info.stepTimes[k]);
    errors[kind].infopath += Math.abs(info.recorded[k * E + e] - truth);
    errors[kind].netrate += Math.abs(netRate(d.edges[e]) - truth);
    errors[kind].n++;
  }
}
const table = Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, { edges: v.n / (K - 10), infopathMae: v.infopath / v.n, netrateMae: v.netrate / v.n }]));
console.log('mean absolute error of the rate over steps 11-100, by kind of edge:', table);

// Four edges for the plot: the first of each kind, and a second oscillating one.
const pick: number[] = [];
for (const kind of ['constant', 'step', 'sinusoid'] as const) {
  const all = d.edges.map((e, i) => [e, i] as const).filter(([e]) => e.pattern.kind === kind);
  pick.push(all[0][1]);
  if (kind !== 'constant' && all[1]) pick.push(all[1][1]);
}
const points: { time: number; rate: number; series: string; edge: string }[] = [];
for (const e of pick) {
  const edge = d.edges[e];
  const label = `${edge.source - 2} -> ${edge.target - 2} (${edge.pattern.kind})`;
  for (let k = 0; k < K; k++) {
    const t = info.stepTimes[k];
    points.push({ time: t, rate: rateAt(edge.pattern, t), series: 'true rate', edge: label });
    points.push({ time: t, rate: info.recorded[k * E + e], series: 'InfoPath, after each step', edge: label });
    points.push({ time: t, rate: netRate(edge), series: 'NetRate, one rate for all time', edge: label });
  }
}
const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: 'Synthetic network with time-varying rates: true and estimated rates of five edges',
  data: { values: points },
  facet: { field: 'edge', type: 'nominal', title: null },
  columns: 3,
  spec: {
    width: 260,
    height: 150,
    mark: { type: 'line' },
    encoding: {
      x: { field: 'time', type: 'quantitative', title: 'time' },
      y: { field: 'rate', type: 'quantitative', title: 'transmission rate' },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 400 } },
      strokeDash: { field: 'series', type: 'nominal', title: null },
    },
  },
};
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'tracking.png'), await renderPng(spec));
writeFileSync(join(outDir, 'tracking.json'), JSON.stringify({ setting: 'numUsers 30, averageOutDegree 2, rateRange [0.5, 1.5], 10000 cascades, timeSpan 1000, window 1, generator seed 5; InfoPath exponential sampling scale 0.05, 100 steps, batch 1000, eta 0.5, seed 1', edges: E, meanAbsoluteError: table }, null, 2) + '\n');
console.log(`wrote ${join(outDir, 'tracking.png')}`);
