import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { METRIC_CATALOGUE } from '@cascade-lab/metrics';
import { LocalTracker } from '@cascade-lab/tracking';
import { selectRuns, writeReport } from './report.js';
import { localRunSource, SWEEP_TAGS, type RunRecord } from './runs.js';
import { buildTable, formatCell, formatImprovement, key, lowerIsBetter, metricDirectionOf, metricLabel, relativeImprovement, summarize } from './table.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');
// The reference folder sits beside the data folder (../shared/{data,reference}); worktrees set CASCADE_DATA_DIR.
const referenceFile = resolve(repoRoot, process.env.CASCADE_DATA_DIR ?? '../shared/data', '../reference/ndm-paper-tables.json');

/** Logs one finished run in a local store, the way `cascade run` tags it. */
async function logRun(tracker: LocalTracker, experiment: string, name: string, tags: Record<string, string>, params: Record<string, unknown>, metrics: Record<string, number>): Promise<void> {
  const run = await tracker.startRun({ name, experiment, tags, system: false });
  await run.logConfig(params);
  run.logMetrics(metrics);
  await run.end('FINISHED');
}

const record = (over: Partial<RunRecord> & { metrics: Record<string, number> }): RunRecord => ({
  runId: over.runId ?? Math.random().toString(36).slice(2),
  name: 'r',
  experiment: 'e',
  status: 'FINISHED',
  startTime: 0,
  tags: {},
  params: {},
  location: '',
  ...over,
});

describe('report statistics', () => {
  it('mean ± sample std over seeds (numpy.std([0.1, 0.2, 0.3], ddof=1) = 0.1)', () => {
    const c = summarize([0.1, 0.2, 0.3]);
    expect(c.mean).toBeCloseTo(0.2, 12);
    expect(c.std).toBeCloseTo(0.1, 12);
    expect(formatCell(c, 3)).toBe('0.200 ± 0.100');
    expect(formatCell(summarize([0.139]), 3)).toBe('0.139');
    expect(formatCell(undefined, 3)).toBe('-');
  });

  it('relative improvement flips sign where lower is better (hand: (0.8 - 0.5) / 0.8 = 37.5%)', () => {
    expect(relativeImprovement(0.5, 0.8, true)).toBeCloseTo(0.375, 12);
    expect(relativeImprovement(0.139, 0.11, false)).toBeCloseTo(0.029 / 0.11, 12);
    expect(formatImprovement(0.375)).toBe('+38%');
    expect(formatImprovement(-0.1)).toBe('-10%');
  });

  it('groups seeds, marks the best per metric (lowest MAPE, highest tau), reports ours against the best baseline', () => {
    const runs = [
      ...[0.6, 0.7].map((mape, i) => record({ tags: { 'cascade.model': 'hawkes', 'cascade.dataset': 'weibo', 'cascade.configHash': `h${i}` }, params: { seed: String(i) }, metrics: { 'test.h24.mape': mape, 'test.h24.kendallTau': 0.3 } })),
      ...[0.4, 0.5].map((mape, i) => record({ tags: { 'cascade.model': 'gammacas', 'cascade.dataset': 'weibo', 'cascade.configHash': `g${i}` }, params: { seed: String(i) }, metrics: { 'test.h24.mape': mape, 'test.h24.kendallTau': 0.2 } })),
    ];
    const t = buildTable(runs, { ours: 'gammacas' });
    expect(t.metrics).toEqual(['test.h24.mape', 'test.h24.kendallTau']);
    expect(t.methods).toEqual(['hawkes', 'gammacas']);
    expect(t.best.get(key('', 'weibo', 'test.h24.mape'))).toEqual(['gammacas']);
    expect(t.best.get(key('', 'weibo', 'test.h24.kendallTau'))).toEqual(['hawkes']);
    // MAPE: ours 0.45 vs best baseline 0.65 -> (0.65 - 0.45) / 0.65; tau: (0.2 - 0.3) / 0.3.
    expect(t.improvements.get(key('', 'weibo', 'test.h24.mape'))).toBeCloseTo(0.2 / 0.65, 12);
    expect(t.improvements.get(key('', 'weibo', 'test.h24.kendallTau'))).toBeCloseTo(-1 / 3, 12);
    expect(t.cells.get(key('gammacas', 'weibo', 'test.h24.mape'))).toMatchObject({ n: 2 });
  });

  it('counts a config run twice once (the latest) and warns when a group mixes configs', () => {
    const runs = [
      record({ startTime: 1, tags: { 'cascade.model': 'm', 'cascade.dataset': 'd', 'cascade.configHash': 'same' }, params: { 'model.hyperparameters.a': '1' }, metrics: { 'test.macroF1': 0.1 } }),
      record({ startTime: 2, tags: { 'cascade.model': 'm', 'cascade.dataset': 'd', 'cascade.configHash': 'same' }, params: { 'model.hyperparameters.a': '1' }, metrics: { 'test.macroF1': 0.3 } }),
      record({ startTime: 3, tags: { 'cascade.model': 'm', 'cascade.dataset': 'd', 'cascade.configHash': 'other' }, params: { 'model.hyperparameters.a': '2' }, metrics: { 'test.macroF1': 0.5 } }),
    ];
    const t = buildTable(runs);
    expect(t.cells.get(key('m', 'd', 'test.macroF1'))?.values).toEqual([0.3, 0.5]);
    expect(t.warnings.join('\n')).toMatch(/1 run\(s\) repeat the config/);
    expect(t.warnings.join('\n')).toMatch(/m on d: its runs differ in more than the seed \(model.hyperparameters.a\)/);
  });
});

describe('report keys: the metric catalogue and runs logged before the key style', () => {
  it('reads old keys (test.hits_at_10) under today\'s (test.hitsAt10) from a run store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cascade-report-keys-'));
    const tracker = new LocalTracker({ root: join(dir, 'runs') });
    const tags = (m: string) => ({ 'cascade.model': m, 'cascade.dataset': 'irvine', 'cascade.task': 'microscopic' });
    // a run from before contract v2 and one from after, same metric under its two spellings
    await logRun(tracker, 'keys', 'old', tags('old'), { model: { name: 'old' }, seed: 1 }, { 'test.macroF1': 0.1, 'test.hits_at_10': 0.2, 'test.map_at_10': 0.05 });
    await logRun(tracker, 'keys', 'new', tags('new'), { model: { name: 'new' }, seed: 1 }, { 'test.macroF1': 0.2, 'test.hitsAt10': 0.3, 'test.mapAt10': 0.07 });
    const { runs } = await selectRuns(localRunSource(join(dir, 'runs')), { experiment: 'keys' });
    for (const metrics of [['test.hitsAt10', 'test.mapAt10'], ['test.hits_at_10', 'test.map_at_10']]) {
      const t = buildTable(runs, { metrics });
      expect(t.metrics).toEqual(['test.hitsAt10', 'test.mapAt10']);
      expect(t.cells.get(key('old', 'irvine', 'test.hitsAt10'))?.mean).toBe(0.2);
      expect(t.cells.get(key('new', 'irvine', 'test.hitsAt10'))?.mean).toBe(0.3);
      expect(t.best.get(key('', 'irvine', 'test.mapAt10'))).toEqual(['new']);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes directions and labels from the catalogue, and marks no best for a key it does not know', () => {
    expect(lowerIsBetter('test.h24.msle')).toBe(true);
    expect(lowerIsBetter('test.h24.stepwiseTau')).toBe(false);
    expect(lowerIsBetter('evaluation.seconds')).toBe(true);
    // a regex on the spelling said "lower" for anything containing "loss"; the catalogue does not know this key
    expect(metricDirectionOf('model.lossless')).toBeUndefined();
    expect(metricLabel('test.h48.mapeCapped')).toBe('MAPE (inf capped) 48 h');
    expect(metricLabel('test.hits_at_10')).toBe('hits@10');
    const runs = [0.1, 0.2].map((v, i) => record({ tags: { 'cascade.model': `m${i}`, 'cascade.dataset': 'd' }, metrics: { 'model.lossless': v, 'test.cascades': 10 } }));
    const t = buildTable(runs, { metrics: ['model.lossless', 'test.cascades'] });
    expect(t.best.size).toBe(0);
    expect(t.warnings.join('\n')).toMatch(/the metric catalogue does not know model.lossless: no best method/);
    // with the plugin's declaration (as `cascade report` passes every registered plugin's) the direction is known
    const catalogue = METRIC_CATALOGUE.withPluginMetrics('m', [{ key: 'model.lossless', label: 'lossless share', unit: 'fraction', direction: 'higher', description: 'x' }]);
    const t2 = buildTable(runs, { metrics: ['model.lossless'], catalogue });
    expect(t2.best.get(key('', 'd', 'model.lossless'))).toEqual(['m1']);
    expect(metricLabel('model.lossless', catalogue)).toBe('lossless share');
  });
});

describe('cascade report: the NDM paper Table 2 layout', () => {
  it('reproduces Table 2 (rows metric x dataset, methods as columns, improvement over the best baseline) from runs', async () => {
    // The paper's numbers (Table 2) as runs in a local store; the improvement column is computed
    // by the report and must equal the percentages the paper prints.
    const reference = JSON.parse(readFileSync(referenceFile, 'utf8')) as { table2_full: Record<string, Record<string, Record<string, number | null>>> };
    const dir = mkdtempSync(join(tmpdir(), 'cascade-report-t2-'));
    const tracker = new LocalTracker({ root: join(dir, 'runs') });
    const table2 = reference.table2_full;
    const datasets = ['lastfm', 'memetracker', 'irvine', 'twitter'];
    const models = ['netrate', 'infopath', 'embedded-ic', 'lstm', 'ndm'];
    for (const d of datasets)
      for (const m of models) {
        const macro = table2.macroF1[d][m];
        const micro = table2.microF1[d][m];
        if (macro === null || micro === null) continue; // '-' in the paper: did not converge in 72 h
        await logRun(tracker, 'ndm-table2', `${m}-${d}`, { 'cascade.model': m, 'cascade.dataset': d, 'cascade.task': 'microscopic' }, { model: { name: m }, dataset: { name: d }, seed: 1 }, { 'test.macroF1': macro, 'test.microF1': micro });
      }
    const selected = await selectRuns(localRunSource(join(dir, 'runs')), { experiment: 'ndm-table2' });
    expect(selected.runs).toHaveLength(18);
    const { markdown, table } = await writeReport(selected, {
      layout: 'paper',
      metrics: ['test.macroF1', 'test.microF1'],
      ours: 'ndm',
      order: ['netrate', 'infopath', 'embedded-ic', 'lstm', 'ndm'],
      labels: { netrate: 'Netrate', infopath: 'Infopath', 'embedded-ic': 'Embedded IC', lstm: 'LSTM', ndm: 'NDM' },
      title: 'Experimental results on diffusion prediction',
      outDir: join(dir, 'out'),
    });
    const rows = markdown.split('\n').filter((l) => l.startsWith('|'));
    expect(rows[0]).toBe('| Metric | Dataset | Netrate | Infopath | Embedded IC | LSTM | NDM | Improvement |');
    // Expected: the paper's Table 2 rows, NDM (best everywhere) in bold, and its printed improvements.
    expect(rows.slice(2)).toEqual([
      '| Macro-F1 | Lastfm | 0.017 | 0.030 | 0.020 | 0.026 | **0.056** | +87% |',
      '|  | Memetracker | 0.068 | 0.110 | 0.060 | 0.102 | **0.139** | +26% |',
      '|  | Irvine | 0.032 | 0.052 | 0.054 | 0.041 | **0.076** | +41% |',
      '|  | Twitter | - | 0.044 | - | 0.103 | **0.139** | +35% |',
      '| Micro-F1 | Lastfm | 0.007 | 0.046 | 0.085 | 0.072 | **0.095** | +12% |',
      '|  | Memetracker | 0.050 | 0.142 | 0.115 | 0.137 | **0.171** | +20% |',
      '|  | Irvine | 0.029 | 0.073 | 0.102 | 0.080 | **0.108** | +6% |',
      '|  | Twitter | - | 0.010 | - | 0.052 | **0.087** | +67% |',
    ]);
    expect(table.baselines).toEqual(['netrate', 'infopath', 'embedded-ic', 'lstm']);
    const csv = readFileSync(join(dir, 'out', 'report.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('metric,dataset,Netrate,Netrate std,Netrate n,Infopath,Infopath std,Infopath n,Embedded IC,Embedded IC std,Embedded IC n,LSTM,LSTM std,LSTM n,NDM,NDM std,NDM n,improvement,best');
    // Twitter: no NetRate / Embedded IC runs -> empty fields; improvement 0.139 / 0.103 - 1.
    const twitter = csv[4].split(',');
    expect(twitter.slice(0, 5)).toEqual(['test.macroF1', 'twitter', '', '', '']);
    expect(Number(twitter[17])).toBeCloseTo(0.139 / 0.103 - 1, 12);
    expect(twitter[18]).toBe('NDM');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('cascade report: a sweep, with plots, in a browser', () => {
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

  it('writes a self-contained HTML page (table + Figure-8 style plots) that renders in headless Chromium, and PNG plots', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cascade-report-sweep-'));
    const tracker = new LocalTracker({ root: join(dir, 'runs') });
    // A one-at-a-time study around heads=8, window=3 (as NDM §5.6), two seeds each.
    const trials: [string, Record<string, number>][] = [
      ['base', {}],
      ['heads=1', { 'model.hyperparameters.heads': 1 }],
      ['heads=4', { 'model.hyperparameters.heads': 4 }],
      ['window=1', { 'model.hyperparameters.window': 1 }],
      ['window=5', { 'model.hyperparameters.window': 5 }],
    ];
    let i = 0;
    for (const [label, overrides] of trials)
      for (const seed of [1, 2]) {
        const heads = overrides['model.hyperparameters.heads'] ?? 8;
        const window = overrides['model.hyperparameters.window'] ?? 3;
        const macro = 0.05 + 0.002 * Math.log2(heads) + 0.001 * window + 0.001 * seed;
        await logRun(
          tracker,
          'sens',
          `study: ${label} seed=${seed}`,
          { 'cascade.model': 'ndm', 'cascade.dataset': 'irvine', [SWEEP_TAGS.sweep]: 'study', [SWEEP_TAGS.role]: 'trial', [SWEEP_TAGS.trialLabel]: label, [SWEEP_TAGS.trialOverrides]: JSON.stringify(overrides), [SWEEP_TAGS.trialHash]: `t${i++}` },
          { seed, model: { name: 'ndm', hyperparameters: { heads, window } }, dataset: { name: 'irvine' } },
          { 'test.macroF1': macro, 'test.microF1': 2 * macro },
        );
      }
    const selected = await selectRuns(localRunSource(join(dir, 'runs')), { sweep: 'study', experiment: 'sens' });
    const out = join(dir, 'out');
    const { files, table } = await writeReport(selected, { metrics: ['test.macroF1', 'test.microF1'], ours: 'base', outDir: out });
    expect(table.methods).toEqual(['heads=1', 'heads=4', 'window=1', 'window=5', 'base']);
    // heads=4: macro = 0.05 + 0.004 + 0.003 + {0.001, 0.002} -> mean 0.0585, std sqrt(0.0005^2 * 2) = 0.000707.
    expect(table.cells.get(key('heads=4', 'irvine', 'test.macroF1'))?.mean).toBeCloseTo(0.0585, 12);
    expect(table.cells.get(key('heads=4', 'irvine', 'test.macroF1'))?.std).toBeCloseTo(Math.SQRT1_2 / 1000, 12);
    for (const png of ['model.hyperparameters.heads.png', 'model.hyperparameters.window.png']) {
      const bytes = readFileSync(join(out, 'plots', png));
      expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    }
    expect(files.map((f) => f.slice(out.length + 1)).sort()).toEqual(['plots/model.hyperparameters.heads.png', 'plots/model.hyperparameters.window.png', 'report.csv', 'report.html', 'report.md']);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).not.toMatch(/<script|<link|src="http/);

    if (!existsSync(chromium)) {
      if (process.env.CI) throw new Error(`Chromium not found at ${chromium} (set CHROMIUM_PATH)`);
      console.warn(`[report] browser check SKIPPED: no Chromium at ${chromium}`);
      return;
    }
    const shots = join(repoRoot, 'test-output', 'report');
    mkdirSync(shots, { recursive: true });
    const { chromium: pw } = await import('playwright-core');
    const browser = await pw.launch({ executablePath: chromium, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${join(out, 'report.html')}`);
      expect(requests.filter((u) => !u.startsWith('file://') && !u.startsWith('data:'))).toEqual([]);
      const headers = await page.locator('thead th').allTextContents();
      expect(headers).toEqual(['Method', 'Macro-F1 ↑', 'Micro-F1 ↑']);
      const rowHeads = await page.locator('tbody th').allTextContents();
      expect(rowHeads).toEqual(['heads=1', 'heads=4', 'window=1', 'window=5', 'base', 'Improvement of base']);
      // The best (bold) cells: window=5 has the highest Macro-F1 and Micro-F1 (0.05 + 0.006 + 0.005 + 0.0015 = 0.0625).
      expect(await page.locator('tbody tr', { hasText: 'window=5' }).locator('td.best strong').count()).toBe(2);
      expect(await page.locator('td.best').count()).toBe(2);
      expect(await page.locator('tbody tr', { hasText: 'heads=4' }).locator('td').first().textContent()).toBe('0.059 ± 0.001');
      // Two plots drawn as SVG with their lines (one path per metric) and axis titles.
      expect(await page.locator('figure svg').count()).toBe(2);
      expect(await page.locator('figure').first().locator('svg text', { hasText: 'heads' }).count()).toBeGreaterThan(0);
      const box = await page.locator('figure svg').first().boundingBox();
      expect(box!.width).toBeGreaterThan(200);
      await page.screenshot({ path: join(shots, 'sweep-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });
});
