import {
  canonicalMetricKey,
  horizonMetricKey,
  horizonSegment,
  isBetter,
  isWellFormedMetricKey,
  METRIC_CATALOGUE,
  MetricCatalogue,
  metricDirection,
  metricInfo,
  PROJECT_METRICS,
  rankingMetricKey,
} from './catalogue.js';

describe('metric catalogue', () => {
  it('knows the keys of the runner, the protocols and the training loop', () => {
    for (const key of [
      'train.loss', 'validation.loss', 'train.bestEpoch', 'train.epochs', 'train.epochSeconds', 'train.seconds',
      'test.macroF1', 'test.microF1', 'test.earlyMacroF1', 'test.earlyMicroF1', 'test.hitsAt10', 'test.mapAt100',
      'test.h24.mape', 'test.h168.kendallTau', 'test.h1p5.spearmanRho', 'test.h24.mapeCapped', 'test.h24.infinitePredictions',
      'test.network.rates.auc', 'test.network.embedding.closestUserAccuracy', 'evaluation.seconds', 'model.parameters',
    ]) expect(METRIC_CATALOGUE.has(key)).toBe(true);
    for (const key of ['test.hits_at_10', 'train_loss', 'test.h24.mape_percent', 'test.hitsAt0', 'model.bestEpoch', 'test.loss']) expect(METRIC_CATALOGUE.has(key)).toBe(false);
  });

  it('fills pattern labels and reports the placeholder values', () => {
    const m = metricInfo('test.h1p5.mape');
    expect(m).toMatchObject({ key: 'test.h1p5.mape', pattern: 'test.h<hours>.mape', label: 'MAPE 1.5 h', unit: 'fraction', direction: 'lower', task: 'macroscopic', values: { hours: 1.5 } });
    expect(metricInfo('test.mapAt10')).toMatchObject({ label: 'MAP@10', direction: 'higher', values: { k: 10 } });
    expect(metricInfo('test.network.rates.precisionAtTrueEdges')).toMatchObject({ label: 'precision@|E| (rates)', values: { name: 'rates' } });
    expect(() => metricInfo('test.hits_at_10')).toThrow(/not in the metric catalogue \(and does not follow the key style/);
    expect(() => metricInfo('test.fooBar')).toThrow(/"test.fooBar" is not in the metric catalogue$/);
  });

  it('gives validation twins of monitor metrics, and only of those', () => {
    expect(metricInfo('validation.macroF1')).toMatchObject({ label: 'validation Macro-F1', direction: 'higher', pattern: 'validation.macroF1' });
    expect(metricInfo('validation.h24.mape')).toMatchObject({ label: 'validation MAPE 24 h', direction: 'lower', pattern: 'validation.h<hours>.mape' });
    expect(metricInfo('validation.hitsAt10').direction).toBe('higher');
    // counts are not monitors
    expect(METRIC_CATALOGUE.has('validation.cascades')).toBe(false);
    expect(METRIC_CATALOGUE.has('validation.h24.infinitePredictions')).toBe(false);
  });

  it('knows scoped training stages (train.<scope>.<name>) by their unscoped entry, plugin keys included', () => {
    expect(metricInfo('train.retrain.loss')).toMatchObject({ label: 'training loss (retrain)', direction: 'lower', pattern: 'train.<scope>.loss' });
    expect(metricInfo('train.retrain.bestEpoch').direction).toBe('none');
    expect(METRIC_CATALOGUE.has('train.retrain.foo')).toBe(false);
    expect(METRIC_CATALOGUE.has('test.retrain.macroF1')).toBe(false);
    const c = METRIC_CATALOGUE.withPluginMetrics('ndm', [{ key: 'train.tokensPerSecond', label: 'tokens / s', unit: 'perSecond', direction: 'higher', description: 'x' }]);
    expect(c.info('train.retrain.tokensPerSecond').label).toBe('tokens / s (retrain)');
  });

  it('compares by direction; NaN is never better; direction-less keys refuse', () => {
    expect(isBetter('test.macroF1', 0.3, 0.2)).toBe(true);
    expect(isBetter('test.macroF1', 0.2, 0.2)).toBe(false);
    expect(isBetter('validation.loss', 1.5, 2)).toBe(true);
    expect(isBetter('test.h24.mape', 3, 2)).toBe(false);
    expect(isBetter('test.h24.kendallTau', -0.1, -0.2)).toBe(true);
    expect(isBetter('test.macroF1', NaN, 0)).toBe(false);
    expect(isBetter('test.macroF1', 0, NaN)).toBe(true);
    expect(isBetter('train.loss', -Infinity, 0)).toBe(true);
    expect(() => isBetter('test.cascades', 2, 1)).toThrow(/no better direction/);
    expect(() => isBetter('test.f1', 2, 1)).toThrow(/not in the metric catalogue/);
    expect(metricDirection('test.h24.msle')).toBe('lower');
    expect(metricDirection('nope')).toBeUndefined();
  });

  it('checks the key style', () => {
    for (const k of ['train.loss', 'test.h24.mape', 'test.h0p25.msle', 'model.windowProjection0SqFrobenius', 'test.network.rates.auc']) expect(isWellFormedMetricKey(k)).toBe(true);
    for (const k of ['loss', 'train_loss', 'test.hits@10', 'test.HitsAt10', 'test.h24.mape_percent', 'sweep.trials', 'test.', 'test.h1.5.mape', 'model.best_epoch']) expect(isWellFormedMetricKey(k)).toBe(false);
    // every project entry is well formed once its placeholders are filled (the constructor checks it too)
    for (const e of PROJECT_METRICS) expect(METRIC_CATALOGUE.has(e.key.replace('<hours>', '24').replace('<k>', '10').replace('<name>', 'x'))).toBe(true);
  });

  it('builds horizon and ranking keys', () => {
    expect(horizonMetricKey('test', 24, 'mape')).toBe('test.h24.mape');
    expect(horizonMetricKey('validation', 0.5, 'kendallTau')).toBe('validation.h0p5.kendallTau');
    expect(horizonSegment(168)).toBe('h168');
    expect(() => horizonSegment(-1)).toThrow(RangeError);
    expect(rankingMetricKey('test', 'hits', 10)).toBe('test.hitsAt10');
    expect(rankingMetricKey('validation', 'map', 1)).toBe('validation.mapAt1');
    expect(() => rankingMetricKey('test', 'map', 0)).toThrow(/positive integer/);
  });

  it('extends with a plugin\'s declared keys and checks them', () => {
    const c = METRIC_CATALOGUE.withPluginMetrics('ndm', [
      { key: 'model.windowProjection<n>SqFrobenius', label: '||W_<n>||²', unit: 'value', direction: 'none', description: 'NDM Table 4.' },
      { key: 'train.tokensPerSecond', label: 'tokens / s', unit: 'perSecond', direction: 'higher', description: 'Training throughput.' },
    ], 'microscopic');
    expect(c.info('model.windowProjection0SqFrobenius')).toMatchObject({ label: '||W_0||²', plugin: 'ndm', task: 'microscopic', values: { n: 0 } });
    expect(c.isBetter('train.tokensPerSecond', 2, 1)).toBe(true);
    // the project catalogue is unchanged
    expect(METRIC_CATALOGUE.has('train.tokensPerSecond')).toBe(false);
    const bad = (key: string) => () => METRIC_CATALOGUE.withPluginMetrics('p', [{ key, label: 'x', unit: 'value', direction: 'none', description: 'x' }]);
    expect(bad('test.myF1')).toThrow(/must start with model\., train\. or validation\./);
    expect(bad('model.best_epoch')).toThrow(/does not follow the key style/);
    expect(bad('train.loss')).toThrow(/already a project metric/);
    expect(bad('validation.macroF1')).toThrow(/already a project metric/);
    expect(() => METRIC_CATALOGUE.withPluginMetrics('p', [{ key: 'model.x', label: 'x', unit: 'furlongs', direction: 'none', description: 'x' }])).toThrow(/unit "furlongs"/);
    expect(() => new MetricCatalogue([PROJECT_METRICS[0], PROJECT_METRICS[0]])).toThrow(/defined twice/);
  });

  it('lists unknown keys with the reason', () => {
    expect(METRIC_CATALOGUE.unknownKeys(['train.loss', 'train_loss', 'model.foo', 'model.foo'])).toEqual([
      { key: 'train_loss', reason: expect.stringMatching(/does not follow the key style/) },
      { key: 'model.foo', reason: expect.stringMatching(/not in the metric catalogue/) },
    ]);
  });

  it('maps legacy keys of old runs to today\'s', () => {
    expect(canonicalMetricKey('test.hits_at_10')).toBe('test.hitsAt10');
    expect(canonicalMetricKey('test.map_at_100')).toBe('test.mapAt100');
    expect(canonicalMetricKey('validation_hits_at_1')).toBe('validation.hitsAt1');
    expect(canonicalMetricKey('train_loss')).toBe('train.loss');
    expect(canonicalMetricKey('test.mape_by_horizon')).toBe('test.mapeByHorizon');
    expect(canonicalMetricKey('trials.finished')).toBe('evaluation.trialsFinished');
    expect(canonicalMetricKey('test.macroF1')).toBe('test.macroF1');
    expect(canonicalMetricKey('something_else')).toBe('something_else');
  });
});
