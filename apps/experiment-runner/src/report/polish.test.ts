/**
 * Report polish (issue 21, item 8): enough digits that a bold best is visibly the best, horizons
 * in numeric order, a word on NaN metrics, and one-epoch learning curves kept.
 */
import { describe, expect, it } from '@jest/globals';
import { RecordingMetrics } from '../experiment/history.js';
import { explainNaNMetrics } from '../experiment/notes.js';
import { predictedVsActualSpec, renderSvg } from '../plots.js';
import { digitsFromSpread } from './digits.js';
import type { RunRecord } from './runs.js';
import { buildTable, formatCell, key } from './table.js';

const record = (model: string, value: number): RunRecord => ({
  runId: model,
  name: model,
  experiment: 'e',
  status: 'FINISHED',
  startTime: 0,
  tags: { 'cascade.model': model, 'cascade.dataset': 'd', 'cascade.configHash': model },
  params: {},
  metrics: { 'test.macroF1': value },
  location: '',
});

describe('digits from the spread', () => {
  it('3 by default; 4 when the best (0.12349) and the runner-up (0.12341) both print 0.123', () => {
    // toFixed(3): "0.123" and "0.123" (a tie in print); toFixed(4): "0.1235" and "0.1234".
    expect(digitsFromSpread([{ best: [0.5], others: [0.4] }])).toBe(3);
    expect(digitsFromSpread([{ best: [0.12349], others: [0.12341, 0.2] }])).toBe(4);
    expect(digitsFromSpread([{ best: [0.1], others: [0.1] }])).toBe(6); // a true tie: capped
    const t = buildTable([record('a', 0.12349), record('b', 0.12341)]);
    expect(t.best.get(key('', 'd', 'test.macroF1'))).toEqual(['a']);
    expect(t.digits).toBe(4);
    expect(formatCell(t.cells.get(key('a', 'd', 'test.macroF1')), t.digits)).toBe('0.1235');
    expect(buildTable([record('a', 0.12349), record('b', 0.12341)], { digits: 2 }).digits).toBe(2);
  });
});

describe('plots and notes', () => {
  it('the predicted-vs-actual legend lists horizons by hours: 12 h, 18 h, 120 h', async () => {
    const rows = ['120 h', '12 h', '18 h'].map((horizon, i) => ({ actual: 10 + i, predicted: 11 + i, horizon }));
    const spec = predictedVsActualSpec(rows, 'sizes') as { layer: { encoding: { color?: { sort?: string[] } } }[] };
    expect(spec.layer[0].encoding.color?.sort).toEqual(['12 h', '18 h', '120 h']);
    const svg = await renderSvg(spec);
    const at = (label: string) => svg.indexOf(`>${label}<`);
    expect(at('12 h')).toBeGreaterThan(0);
    expect(at('12 h')).toBeLessThan(at('18 h'));
    expect(at('18 h')).toBeLessThan(at('120 h'));
  });

  it('a NaN step-wise tau or rank correlation is explained, with the test-set size', () => {
    const notes = explainNaNMetrics({ 'test.cascades': 3, 'test.h24.stepwiseTau': NaN, 'test.h24.kendallTau': NaN, 'test.h24.mape': 0.5 });
    expect(notes).toEqual([
      expect.stringMatching(/^test\.h24\.stepwiseTau = NaN: the step-wise Kendall tau needs a size range holding two or more of the 3 test cascades; widen the ranges with evaluation\.stepwiseBoundaries/),
      expect.stringMatching(/^test\.h24\.kendallTau = NaN: a rank correlation is undefined/),
    ]);
    expect(explainNaNMetrics({ 'test.h24.mape': 0.5 })).toEqual([]);
  });

  it('a one-epoch run keeps its learning curve (one point per metric); a metric without steps is not a curve', () => {
    const m = new RecordingMetrics({ logMetric: () => undefined });
    m.logMetric('train.loss', 0.7, 1);
    m.logMetric('validation.loss', 0.8, 1);
    m.logMetric('train.seconds', 12);
    expect(m.curves().map((p) => p.series)).toEqual(['train.loss', 'validation.loss']);
  });
});
