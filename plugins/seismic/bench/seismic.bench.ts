/**
 * seismic speed: estimate-and-predict milliseconds per cascade on the 100 TiDeH retweet cascades observed
 * for 6 h (the issue 18 target: under 50 ms for a cascade of a few thousand events).
 *
 *   npm run bench -- seismic [--repeats 5]
 *
 * Each cascade is predicted alone (`predict([c], horizons)`: the fit, A1 and the closed-form sizes)
 * `--repeats` times after one warm-up pass over all cascades; the median of the repeats is its time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTideh, windowCascade } from '@cascade-lab/data';
import { seismicHyperparameters, SeismicModel } from '../src/index.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const repeats = Number(arg('repeats', '5'));
const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const dir = join(process.env.CASCADE_DATA_DIR ?? resolve(root, '../shared/data'), 'macro', 'tideh-rt');
const horizons = [12, 24, 48, 72, 120, 168];
const cascades = readdirSync(dir)
  .filter((f) => /^RT\d+\.txt$/.test(f))
  .map((f) => windowCascade(parseTideh(readFileSync(join(dir, f), 'utf8'), f).cascade, { observationWindowSeconds: 21600, horizonsHours: horizons }));
const model = new SeismicModel(seismicHyperparameters.parse({}), 21600);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
await model.predict(cascades, horizons); // warm-up (JIT)
const rows = [];
for (const c of cascades) {
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await model.predict([c], horizons);
    times.push(performance.now() - t0);
  }
  rows.push({ events: c.observedSize, ms: median(times) });
}
const ms = rows.map((r) => r.ms);
const big = rows.filter((r) => r.events >= 2000 && r.events <= 5000);
console.log(`seismic estimate + predict on tideh-rt (6 h observed, ${cascades.length} cascades, median of ${repeats} runs each), node ${process.version}`);
console.log('| cascades | events in window (median / max) | ms per cascade: mean | median | max | mean at 2,000-5,000 events |');
console.log('|---|---|---|---|---|---|');
console.log(
  `| ${rows.length} | ${median(rows.map((r) => r.events))} / ${Math.max(...rows.map((r) => r.events))} | ${(ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(2)} | ${median(ms).toFixed(2)} | ${Math.max(...ms).toFixed(2)} | ${(big.reduce((a, r) => a + r.ms, 0) / Math.max(1, big.length)).toFixed(2)} (${big.length} cascades) |`,
);
