import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMicroscopicDataset } from '@cascade-lab/data';
import type { UserVocabulary } from '@cascade-lab/core';
import { loadNdmModel } from './plugin.js';
import { importReleasedNdm, readReleasedCheckpoint, releasedHyperparameters, releasedUserIndex } from './released.js';
import { useBackend } from './testing.test-util.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dataDir = path.resolve(repoRoot, process.env.CASCADE_DATA_DIR ?? '../shared/data');
const releasedDir = path.resolve(dataDir, '../reference/ndm-released');

beforeAll(() => useBackend('cpu'));

/**
 * Log-softmax of the next user at each position of the first 12 users of the first three test
 * cascades (raw ids), computed independently of the project from the authors' tensors in their own
 * index space (numpy, float64; the authors' forward pass: per-head attention / sqrt(d_model),
 * concatenation, Linear, residual, their layer norm skipped at length 1, causal Conv1d; position 0
 * from the seed alone, as their sampler computes it):
 *   python3 plugins/ndm/scripts/released_reference.py ../shared/reference/ndm-released
 * Each row: [true next user, probe users 1-3 (null when infected), log-sum-exp of the open logits].
 */
const EXPECTED: Record<'memetracker' | 'irvine', { users: string[]; probes: string[]; rows: (number | null)[][] }[]> = {
  memetracker: [
    { users: ["80", "73", "59", "37", "307", "40", "30", "79", "132", "148", "411", "430"], probes: ["76", "345", "406"], rows: [[-8.599006, -17.625333, -15.047121, -16.379924, 13.250962], [-2.170046, -9.567879, -8.521218, -10.586380, 7.138419], [-5.079047, -10.479696, -10.802235, -12.934004, 7.388490], [-6.727260, -9.376762, -9.677155, -13.707644, 6.758851], [-7.190935, -6.633964, -11.650553, -11.819143, 6.458863], [-2.602053, -7.571264, -11.496901, -10.471253, 6.460784], [-3.222978, -7.546592, -11.381334, -10.785177, 6.570270], [-2.261177, -9.663895, -12.128643, -10.632709, 6.728109], [-3.007094, -7.027904, -12.754556, -12.136421, 6.495347], [-9.907774, -10.003339, -11.134714, -10.320683, 6.474556], [-6.821708, -9.098838, -11.183654, -11.176445, 6.058266]] },
    { users: ["149", "150", "74"], probes: ["76", "345", "406"], rows: [[-0.433662, -6.086745, -11.309138, -14.995735, 10.935714], [-2.585223, -4.538416, -7.511426, -9.617060, 6.521651]] },
    { users: ["0", "45"], probes: ["76", "345", "406"], rows: [[-8.118331, -10.785584, -15.311481, -15.654642, 12.967483]] },
  ],
  irvine: [
    { users: ["106", "3", "339", "658", "597", "621", "571", "29", "502", "725", "803", "7"], probes: ["229", "333", "855"], rows: [[-6.243811, -9.359753, -8.930458, -8.377800, 8.503183], [-9.462623, -11.046665, -11.680247, -10.267800, 8.287022], [-5.411177, -10.561582, -16.445482, -12.128677, 9.084706], [-6.232616, -12.789221, -15.299834, -14.400783, 8.892773], [-10.181380, -9.384287, -13.660857, -11.819729, 9.164419], [-12.674773, -12.605067, -11.114392, -12.253983, 8.445847], [-9.091152, -10.273580, -10.989438, -12.645917, 9.291239], [-7.427062, -10.129678, -12.987853, -9.177741, 8.493164], [-5.686374, -14.556275, -10.100744, -8.910625, 8.909947], [-5.460432, -10.219973, -10.321512, -12.217838, 8.503649], [-14.241155, -13.096123, -10.348703, -14.836329, 9.331910]] },
    { users: ["205", "164", "67", "170", "810", "330", "785", "228", "78", "606"], probes: ["229", "333", "855"], rows: [[-6.172347, -9.473993, -7.747082, -8.622253, 7.425246], [-3.304461, -14.345652, -10.842548, -13.620889, 10.534827], [-9.052958, -10.594316, -12.257758, -16.976284, 9.128461], [-7.792154, -11.969122, -10.080530, -13.623999, 8.920961], [-7.733975, -13.640842, -13.146759, -14.470941, 10.182976], [-7.230103, -8.597281, -18.156297, -16.014750, 9.127623], [-6.336551, -10.232329, -11.113090, -14.744683, 8.697412], [-9.144232, -7.445477, -10.844637, -15.468904, 8.541486], [-8.624455, -12.292989, -14.245155, -16.553190, 8.164086]] },
    { users: ["164", "233", "534", "18", "383", "100", "527", "97", "416", "313", "178", "207"], probes: ["229", "333", "855"], rows: [[-8.821543, -5.342203, -5.812379, -7.269201, 7.512506], [-8.961431, -6.978545, -7.751749, -11.897277, 8.116092], [-12.094255, -11.049587, -7.637113, -12.003552, 9.258825], [-9.226926, -9.864927, -10.122706, -14.047086, 8.846285], [-1.457517, -13.824391, -13.410560, -13.863485, 9.385461], [-7.461628, -11.951493, -11.285063, -11.219733, 8.441947], [-7.702011, -12.650054, -12.069941, -13.622347, 8.125326], [-12.192119, -9.709011, -13.715294, -12.365093, 8.473724], [-8.198737, -10.174735, -9.080097, -13.111319, 8.671018], [-11.621784, -16.037649, -10.456055, -13.037441, 9.973097], [-9.053557, -8.025582, -13.804320, -15.349029, 7.757733]] },
  ],
};

const datasets = ['memetracker', 'irvine'] as const;
const have = existsSync(path.join(releasedDir, 'memetracker.json')) && existsSync(path.join(dataDir, 'micro/memetracker/idx2u.tsv'));
const describeReleased = have ? describe : describe.skip;

function logSoftmax(row: Float32Array): { lse: number; at: (u: number) => number | null } {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let s = 0;
  for (const v of row) if (v !== -Infinity) s += Math.exp(v - max);
  const lse = max + Math.log(s);
  return { lse, at: (u) => (row[u] === -Infinity ? null : row[u] - lse) };
}

describeReleased('the authors\' released NDM checkpoints, imported', () => {
  it.each(datasets)('%s: next-user log-probabilities equal the authors\' architecture computed independently', async (name) => {
    const data = await loadMicroscopicDataset({ path: path.join(dataDir, 'micro', name), format: 'ndm' }, { seed: 1 });
    const model = importReleasedNdm(path.join(releasedDir, name), data.users);
    try {
      for (const c of EXPECTED[name]) {
        const users = c.users.map((raw) => data.users.indexOf(raw)!);
        const rows = await model.nextUserScores(users);
        expect(rows).toHaveLength(users.length - 1);
        rows.forEach((row, t) => {
          const { lse, at } = logSoftmax(row);
          const [next, p1, p2, p3, expectedLse] = c.rows[t];
          const got = [at(users[t + 1]), ...c.probes.map((raw) => at(data.users.indexOf(raw)!))];
          [next, p1, p2, p3].forEach((want, i) => {
            if (want === null) expect(got[i]).toBeNull();
            else expect(got[i]).toBeCloseTo(want, 3);
          });
          expect(lse).toBeCloseTo(expectedLse as number, 3);
        });
      }
    } finally {
      model.dispose();
    }
  });

  it('maps the settings to the authors\' architecture and every user id to the dataset\'s index', async () => {
    const ck = readReleasedCheckpoint(path.join(releasedDir, 'memetracker'));
    const hp = releasedHyperparameters(ck);
    expect([hp.dimension, hp.heads, hp.window, hp.layerNorm, hp.scaleScores, hp.windowBias, hp.learnEnd, hp.initialUser]).toEqual([64, 8, 3, 'ndm-code', true, true, false, false]);
    const data = await loadMicroscopicDataset({ path: path.join(dataDir, 'micro/memetracker'), format: 'ndm' }, { seed: 1 });
    const map = releasedUserIndex(ck.info.u2idx, data.users);
    for (let u = 2; u < data.users.size; u++) expect(map[u]).toBe(ck.info.u2idx[data.users.rawIdOf(u)]);
    // A shuffled vocabulary moves the rows with the users: same scores by raw id.
    const perm = Array.from({ length: data.users.size - 2 }, (_, i) => i + 2).reverse();
    const raws = ['<blank>', '</s>', ...perm.map((u) => data.users.rawIdOf(u))];
    const shuffled: UserVocabulary = { size: raws.length, indexOf: (r) => { const i = raws.indexOf(r); return i < 0 ? undefined : i; }, rawIdOf: (i) => raws[i] };
    const a = importReleasedNdm(path.join(releasedDir, 'memetracker'), data.users);
    const b = importReleasedNdm(path.join(releasedDir, 'memetracker'), shuffled);
    const seqRaw = EXPECTED.memetracker[0].users.slice(0, 5);
    const [ra] = (await a.nextUserScores(seqRaw.map((r) => data.users.indexOf(r)!))).slice(-1);
    const [rb] = (await b.nextUserScores(seqRaw.map((r) => shuffled.indexOf(r)!))).slice(-1);
    for (let u = 2; u < data.users.size; u++) expect(rb[shuffled.indexOf(data.users.rawIdOf(u))!]).toBeCloseTo(ra[u], 4);
    // A vocabulary of another size is refused.
    expect(() => releasedUserIndex(ck.info.u2idx, { ...data.users, size: data.users.size + 1 })).toThrow(/vocabulary/);
    // The import saves and loads as a model of this plugin.
    const dir = mkdtempSync(path.join(tmpdir(), 'ndm-released-'));
    try {
      await a.save(dir);
      const c = await loadNdmModel(dir);
      const [rc] = (await c.nextUserScores(seqRaw.map((r) => data.users.indexOf(r)!))).slice(-1);
      expect(Array.from(rc)).toEqual(Array.from(ra));
      c.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      a.dispose();
      b.dispose();
    }
  });
});
