/**
 * The metric catalogue: every key the project logs (runner, evaluation protocols, training loop,
 * plugins), with a label, a unit, the direction that is better and the task it belongs to. The
 * report, the sweep tables, the plots and the conformance kit read directions and labels from here
 * instead of guessing them from the key's spelling.
 *
 * Key style (fixed for the whole project, MLflow metric names included): dot-separated segments of
 * lowerCamelCase words, `<phase>.<name>` with phase one of train | validation | test | model |
 * evaluation; a horizon is its own segment `h<hours>` (`test.h24.mape`; fractional hours write the
 * point as `p`: 1.5 h is `h1p5`, because a dot separates segments); a cut-off is part of the word
 * (`test.hitsAt10`). MLflow accepts these characters, and '@' or '_' never appear.
 *
 * Patterns: an entry's key may hold placeholders: `<hours>` (a horizon segment's number), `<k>` (a
 * positive integer cut-off), `<n>` (a non-negative integer index) and `<name>` (a lowerCamelCase
 * word named by the model, e.g. the kind of an edge score). Labels use the same placeholders and get the matched values.
 *
 * Monitors: every `test.` entry marked `monitor` can also be logged as `validation.<same name>` by a
 * training loop that selects models on that protocol metric on the validation split (issue 15's
 * simulated-F1 monitor logs `validation.macroF1`); it has the same unit and direction.
 *
 * Training stages: `train.<scope>.<name>` (the training loop's `scope`, e.g. `train.retrain.loss`)
 * has the entry of `train.<name>`.
 *
 * Plugins: a plugin declares the keys it logs itself (`model.<name>`, or a `train.` /
 * `validation.` curve of its own) as {@link MetricDeclaration}s; `catalogue.withPluginMetrics(plugin,
 * declarations)` returns the catalogue extended by them, after checking that each key has the style
 * and does not redefine a project key.
 */

/** The phase a key starts with. */
export const METRIC_PHASES = ['train', 'validation', 'test', 'model', 'evaluation'] as const;
export type MetricPhase = (typeof METRIC_PHASES)[number];

/** Which way is better: larger values, smaller values, or neither (counts, settings, durations of fixed work). */
export type MetricDirection = 'higher' | 'lower' | 'none';

/**
 * Units: `fraction` (0..1 unless an error above 1), `percent`, `correlation` (-1..1), `count`,
 * `seconds`, `perSecond`, `epoch` (1-based epoch number), `flag` (0 or 1), `loss` (the model's own
 * training objective, nats per target unless the plugin says otherwise), `squaredLog` (squared
 * log-error), `rate`, `value` (anything else, say what in the description).
 */
export const METRIC_UNITS = ['fraction', 'percent', 'correlation', 'count', 'seconds', 'perSecond', 'epoch', 'flag', 'loss', 'squaredLog', 'rate', 'value'] as const;
export type MetricUnit = (typeof METRIC_UNITS)[number];

/** The task a metric belongs to; `any` for both (losses, timings). */
export type MetricTask = 'microscopic' | 'macroscopic' | 'any';

/** One catalogue entry. */
export interface MetricInfo {
  /** The key, or a pattern with `<hours>`, `<k>`, `<n>` or `<name>` placeholders. */
  key: string;
  /** Short label for tables and plots, in the papers' words (placeholders allowed). */
  label: string;
  unit: MetricUnit;
  direction: MetricDirection;
  task: MetricTask;
  /** One sentence: what the number is and where it comes from (paper section). */
  description: string;
  /** A `test.` metric that a training loop may also log on the validation split (`validation.<name>`). */
  monitor?: boolean;
  /** The plugin that declared the entry (undefined for the project's own keys). */
  plugin?: string;
}

/**
 * What a plugin declares for a key it logs itself (a plugin's `metrics` field, typed in core as
 * `PluginMetricDeclaration`; the unit is checked against {@link METRIC_UNITS} here).
 */
export interface MetricDeclaration {
  /** `model.<name>` (a summary number), or `train.<name>` / `validation.<name>` (a curve of its own); placeholders allowed. */
  key: string;
  label: string;
  unit: MetricUnit | string;
  direction: MetricDirection;
  description: string;
  /** Default: the plugin's task. */
  task?: MetricTask;
}

/** A key looked up in the catalogue: the entry, its label with the placeholders filled, and their values. */
export interface ResolvedMetric extends MetricInfo {
  /** The concrete key asked for. */
  key: string;
  /** The entry's key (the pattern). */
  pattern: string;
  /** Placeholder values, e.g. `{ hours: 24 }` or `{ k: 10 }` or `{ name: 'rates' }`. */
  values: { hours?: number; k?: number; n?: number; name?: string };
}

const WORD = '[a-z][A-Za-z0-9]*';
const HORIZON = 'h[0-9]+(?:p[0-9]+)?';
/** Well-formed keys: a phase, then segments that are lowerCamelCase words or horizon segments. */
const WELL_FORMED = new RegExp(`^(?:${METRIC_PHASES.join('|')})(?:\\.(?:${HORIZON}|${WORD}))+$`);

/** True when `key` follows the project's key style (it may still be missing from the catalogue). */
export function isWellFormedMetricKey(key: string): boolean {
  return WELL_FORMED.test(key);
}

/** The horizon segment of `hours`: `h24`, `h1p5` for 1.5 hours. */
export function horizonSegment(hours: number): string {
  if (!(hours >= 0) || !Number.isFinite(hours)) throw new RangeError(`horizonSegment: ${hours} is not a horizon in hours`);
  return `h${String(hours).replace('.', 'p')}`;
}

/** `<phase>.h<hours>.<name>`, e.g. `horizonMetricKey('test', 24, 'mape')` = `test.h24.mape`. */
export function horizonMetricKey(phase: MetricPhase, hours: number, name: string): string {
  return `${phase}.${horizonSegment(hours)}.${name}`;
}

/** `test.hitsAt10` / `test.mapAt10` for `rankingMetricKey('test', 'hits', 10)`. */
export function rankingMetricKey(phase: MetricPhase, measure: 'hits' | 'map', k: number): string {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`rankingMetricKey: k must be a positive integer, got ${k}`);
  return `${phase}.${measure}At${k}`;
}

const PLACEHOLDERS: Record<string, string> = { '<hours>': '([0-9]+(?:p[0-9]+)?)', '<k>': '([1-9][0-9]*)', '<n>': '(0|[1-9][0-9]*)', '<name>': `(${WORD})` };

interface Compiled {
  info: MetricInfo;
  regex: RegExp;
  names: ('hours' | 'k' | 'n' | 'name')[];
}

function compile(info: MetricInfo): Compiled {
  const names: Compiled['names'] = [];
  let source = '';
  for (const part of info.key.split(/(<hours>|<k>|<n>|<name>)/)) {
    if (PLACEHOLDERS[part]) {
      names.push(part.slice(1, -1) as Compiled['names'][number]);
      source += PLACEHOLDERS[part];
    } else source += part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return { info, regex: new RegExp(`^${source}$`), names };
}

/** An example concrete key of a pattern (placeholders replaced), used to check a pattern's style. */
function exampleKey(pattern: string): string {
  return pattern.replace(/h<hours>/g, 'h24').replace(/<k>/g, '10').replace(/<n>/g, '0').replace(/<name>/g, 'example');
}

function fillLabel(label: string, values: ResolvedMetric['values']): string {
  return label
    .replace(/<hours>/g, values.hours !== undefined ? String(values.hours) : '<hours>')
    .replace(/<k>/g, values.k !== undefined ? String(values.k) : '<k>')
    .replace(/<n>/g, values.n !== undefined ? String(values.n) : '<n>')
    .replace(/<name>/g, values.name ?? '<name>');
}

const MACRO = 'macroscopic' as const;
const MICRO = 'microscopic' as const;

/** The project's own keys (runner, protocols, training loop). */
export const PROJECT_METRICS: readonly MetricInfo[] = Object.freeze([
  // Training loop (packages/training), any trained plugin.
  { key: 'train.loss', label: 'training loss', unit: 'loss', direction: 'lower', task: 'any', description: "Mean training objective of an epoch (step = epoch), the plugin's own loss." },
  { key: 'validation.meanMacroF1', label: 'validation mean of Macro-F1 and early Macro-F1', unit: 'fraction', direction: 'higher', task: MICRO, description: 'The simulated-F1 monitor (evaluation package, simulatedF1Monitor) selecting by both NDM paper numbers at once: (Macro-F1 + early Macro-F1) / 2 on the validation split (Tables 2 and 3).' },
  { key: 'validation.loss', label: 'validation loss', unit: 'loss', direction: 'lower', task: 'any', description: 'The training objective on the validation split after an epoch (step = epoch).' },
  { key: 'train.bestEpoch', label: 'best epoch', unit: 'epoch', direction: 'none', task: 'any', description: 'The epoch whose weights were kept (best monitored validation value), 1-based.' },
  { key: 'train.epochs', label: 'epochs trained', unit: 'count', direction: 'none', task: 'any', description: 'Epochs run before the maximum or early stopping.' },
  { key: 'train.stoppedEarly', label: 'stopped early', unit: 'flag', direction: 'none', task: 'any', description: '1 when patience ended training before the maximum number of epochs.' },
  { key: 'train.epochSeconds', label: 'seconds per epoch', unit: 'seconds', direction: 'lower', task: 'any', description: 'Wall-clock seconds of one epoch, validation included (step = epoch).' },
  { key: 'train.learningRate', label: 'learning rate', unit: 'rate', direction: 'none', task: 'any', description: "The optimizer's learning rate during an epoch (step = epoch; a schedule such as Noam changes it)." },
  { key: 'train.examplesPerSecond', label: 'training examples / s', unit: 'perSecond', direction: 'higher', task: 'any', description: 'Training throughput of an epoch in the examples the plugin counts (targets, cascades).' },
  { key: 'train.seconds', label: 'training time', unit: 'seconds', direction: 'lower', task: 'any', description: 'Wall-clock seconds of `train`, logged by the runner.' },

  // Microscopic protocol (NDM paper §5.3): simulations from each test cascade's first user.
  { key: 'test.macroF1', label: 'Macro-F1', unit: 'fraction', direction: 'higher', task: MICRO, monitor: true, description: 'Mean over test cascades of the F1 of P_u^c against the infected users (NDM paper §5.3, Table 2).' },
  { key: 'test.microF1', label: 'Micro-F1', unit: 'fraction', direction: 'higher', task: MICRO, monitor: true, description: 'F1 of precision and recall summed over test cascades first (NDM paper §5.3, Table 2).' },
  { key: 'test.earlyMacroF1', label: 'Macro-F1 (early)', unit: 'fraction', direction: 'higher', task: MICRO, monitor: true, description: 'Macro-F1 on the first five infected users (NDM paper Table 3).' },
  { key: 'test.earlyMicroF1', label: 'Micro-F1 (early)', unit: 'fraction', direction: 'higher', task: MICRO, monitor: true, description: 'Micro-F1 on the first five infected users (NDM paper Table 3).' },
  { key: 'test.microPrecision', label: 'Micro precision', unit: 'fraction', direction: 'higher', task: MICRO, monitor: true, description: 'sum_c sum_{u in G_c} P_u^c / sum_c sum_u P_u^c (NDM paper §5.3).' },
  { key: 'test.microRecall', label: 'Micro recall', unit: 'fraction', direction: 'higher', task: MICRO, monitor: true, description: 'sum_c sum_{u in G_c} P_u^c / sum_c |G_c| (NDM paper §5.3).' },
  { key: 'test.earlyMicroPrecision', label: 'Micro precision (early)', unit: 'fraction', direction: 'higher', task: MICRO, monitor: true, description: 'Micro precision on the first five infected users.' },
  { key: 'test.earlyMicroRecall', label: 'Micro recall (early)', unit: 'fraction', direction: 'higher', task: MICRO, monitor: true, description: 'Micro recall on the first five infected users.' },
  { key: 'test.simulations', label: 'simulations per cascade', unit: 'count', direction: 'none', task: MICRO, description: 'Simulations run from each test cascade (1000 in the NDM paper).' },
  { key: 'test.skippedCascades', label: 'skipped cascades', unit: 'count', direction: 'none', task: MICRO, description: 'Test cascades with no user to predict after the seed (left out, as the NDM code does).' },
  // Next-user ranking given the true prefix.
  { key: 'test.hitsAt<k>', label: 'hits@<k>', unit: 'fraction', direction: 'higher', task: MICRO, monitor: true, description: 'Fraction of positions whose true next user ranks in the top k (ties count against it).' },
  { key: 'test.mapAt<k>', label: 'MAP@<k>', unit: 'fraction', direction: 'higher', task: MICRO, monitor: true, description: 'Mean average precision at k of the true next user (1/rank within the top k).' },

  // Either protocol.
  { key: 'test.cascades', label: 'test cascades', unit: 'count', direction: 'none', task: 'any', description: 'Test cascades evaluated.' },
  { key: 'evaluation.seconds', label: 'evaluation time', unit: 'seconds', direction: 'lower', task: 'any', description: "Wall-clock seconds of the task's evaluation protocol." },

  // Macroscopic protocol (GammaCas paper §5): sizes at horizons after the observation window.
  { key: 'test.h<hours>.mape', label: 'MAPE <hours> h', unit: 'fraction', direction: 'lower', task: MACRO, monitor: true, description: 'Mean |y - y^| / y over the finite predictions (GammaCas paper §5; infinite ones are counted in infinitePredictions).' },
  { key: 'test.h<hours>.mapePercent', label: 'MAPE % <hours> h', unit: 'percent', direction: 'lower', task: MACRO, monitor: true, description: "MAPE as the GammaCas authors' code computes it (0.001 added to y and y^, in percent), finite predictions." },
  { key: 'test.h<hours>.mapeCapped', label: 'MAPE (inf capped) <hours> h', unit: 'fraction', direction: 'lower', task: MACRO, monitor: true, description: 'MAPE over every valid prediction, an infinite one counted with the documented capped error (evaluation package, INFINITE_APE_CAP).' },
  { key: 'test.h<hours>.kendallTau', label: 'Kendall τ <hours> h', unit: 'correlation', direction: 'higher', task: MACRO, monitor: true, description: "Kendall's tau-b of predicted and true sizes (scipy.stats.kendalltau), infinite predictions ranked highest." },
  { key: 'test.h<hours>.spearmanRho', label: 'Spearman ρ <hours> h', unit: 'correlation', direction: 'higher', task: MACRO, monitor: true, description: "Spearman's rho of predicted and true sizes (scipy.stats.spearmanr), infinite predictions ranked highest." },
  { key: 'test.h<hours>.stepwiseTau', label: 'step-wise τ <hours> h', unit: 'correlation', direction: 'higher', task: MACRO, monitor: true, description: 'Kendall tau-b of size ranges (geometric buckets), as CasPred evaluates.' },
  { key: 'test.h<hours>.msle', label: 'MSLE <hours> h', unit: 'squaredLog', direction: 'lower', task: MACRO, monitor: true, description: 'Mean squared log(1 + size) error, natural log, over the finite predictions.' },
  { key: 'test.h<hours>.infinitePredictions', label: 'infinite predictions <hours> h', unit: 'count', direction: 'lower', task: MACRO, description: 'Predictions that are +Infinity (a supercritical Hawkes or SEISMIC fit, issue 18).' },
  { key: 'test.h<hours>.invalidPredictions', label: 'invalid predictions <hours> h', unit: 'count', direction: 'lower', task: MACRO, description: 'Predictions that are NaN or -Infinity (a failed fit), left out of every number.' },
  { key: 'test.h<hours>.missingTargets', label: 'targets past the data <hours> h', unit: 'count', direction: 'none', task: MACRO, description: "Test cascades whose data end before the horizon (no target), skipped." },
  { key: 'test.mapeByHorizon', label: 'MAPE by horizon', unit: 'fraction', direction: 'lower', task: MACRO, description: 'The h<hours>.mape values as one curve (step = hours).' },
  { key: 'test.kendallTauByHorizon', label: 'Kendall τ by horizon', unit: 'correlation', direction: 'higher', task: MACRO, description: 'The h<hours>.kendallTau values as one curve (step = hours).' },
  { key: 'test.spearmanRhoByHorizon', label: 'Spearman ρ by horizon', unit: 'correlation', direction: 'higher', task: MACRO, description: 'The h<hours>.spearmanRho values as one curve (step = hours).' },

  // Network recovery / social link prediction of a model's edge scores against a ground-truth graph.
  { key: 'test.network.<name>.precisionAtTrueEdges', label: 'precision@|E| (<name>)', unit: 'fraction', direction: 'higher', task: MICRO, description: 'Fraction of true edges among the |E| highest-scored pairs, |E| = number of true edges (network recovery, NetRate/InfoPath papers).' },
  { key: 'test.network.<name>.auc', label: 'AUC (<name>)', unit: 'fraction', direction: 'higher', task: MICRO, description: 'Area under the ROC curve of the edge scores over all ordered pairs of distinct users, ties counted half.' },
  { key: 'test.network.<name>.closestUserAccuracy', label: 'link prediction (<name>)', unit: 'fraction', direction: 'higher', task: MICRO, description: "How often each user's highest-scored other user is a neighbour in the graph (NDM paper §5.4)." },
  { key: 'test.network.trueEdges', label: 'true edges', unit: 'count', direction: 'none', task: MICRO, description: 'Edges of the ground-truth graph between scored users.' },
  { key: 'test.network.users', label: 'users with an edge', unit: 'count', direction: 'none', task: MICRO, description: 'Users with at least one edge in the ground-truth graph (the users closest-user accuracy is over).' },

  // Sweeps (the parent run).
  { key: 'evaluation.trialsFinished', label: 'trials finished', unit: 'count', direction: 'none', task: 'any', description: "A sweep's trials done so far (the parent run; step = progress)." },
  { key: 'evaluation.trialsFailed', label: 'trials failed', unit: 'count', direction: 'lower', task: 'any', description: "A sweep's failed trials so far (the parent run)." },

  // Summary numbers every model may give.
  { key: 'model.parameters', label: 'parameters', unit: 'count', direction: 'none', task: 'any', description: 'Number of trained parameters.' },
]);

/** Phases a plugin may declare keys in; `test.` and `evaluation.` belong to the shared protocols. */
const PLUGIN_PHASES = new Set<string>(['model', 'train', 'validation']);

/**
 * A set of metric entries with lookups. Immutable: {@link MetricCatalogue.withPluginMetrics} returns
 * a new catalogue. Exact keys win over patterns; among patterns, the first entry that matches.
 */
export class MetricCatalogue {
  private readonly exact = new Map<string, MetricInfo>();
  private readonly patterns: Compiled[] = [];

  constructor(readonly entries: readonly MetricInfo[]) {
    for (const info of entries) {
      if (!isWellFormedMetricKey(exampleKey(info.key))) throw new RangeError(`metric catalogue: key "${info.key}" does not follow the key style (<phase>.<lowerCamelCase segments>)`);
      if (this.exact.has(info.key) || this.patterns.some((p) => p.info.key === info.key)) throw new RangeError(`metric catalogue: key "${info.key}" is defined twice`);
      if (info.monitor && !info.key.startsWith('test.')) throw new RangeError(`metric catalogue: only test. metrics can be monitors ("${info.key}")`);
      if (/<(hours|k|n|name)>/.test(info.key)) this.patterns.push(compile(info));
      else this.exact.set(info.key, info);
    }
  }

  /**
   * The entry of a concrete key, or undefined. Besides the entries themselves it knows the
   * validation twins of monitor metrics (`validation.macroF1`) and scoped training stages: a `train.`
   * key with one more segment after the phase (`train.retrain.loss`, the training loop's `scope`
   * for a second stage such as NDM's retraining on all training cascades) has the entry of the key
   * without it (`train.loss`), labelled with the scope.
   */
  lookup(key: string): ResolvedMetric | undefined {
    const direct = this.resolve(key);
    if (direct) return direct;
    const scoped = /^train\.([a-z][A-Za-z0-9]*)\.(.+)$/.exec(key);
    if (scoped) {
      const unscoped = this.resolve(`train.${scoped[2]}`);
      if (unscoped) return { ...unscoped, key, pattern: `train.<scope>.${unscoped.pattern.slice('train.'.length)}`, label: `${unscoped.label} (${scoped[1]})` };
    }
    if (key.startsWith('validation.')) {
      const twin = this.resolve(`test.${key.slice('validation.'.length)}`);
      if (twin?.monitor) return { ...twin, key, pattern: `validation.${twin.pattern.slice('test.'.length)}`, label: `validation ${twin.label}`, monitor: false };
    }
    return undefined;
  }

  private resolve(key: string): ResolvedMetric | undefined {
    const info = this.exact.get(key);
    if (info) return { ...info, key, pattern: info.key, values: {} };
    for (const p of this.patterns) {
      const m = p.regex.exec(key);
      if (!m) continue;
      const values: ResolvedMetric['values'] = {};
      p.names.forEach((name, i) => {
        const raw = m[i + 1];
        if (name === 'hours') values.hours = Number(raw.replace('p', '.'));
        else if (name === 'k') values.k = Number(raw);
        else if (name === 'n') values.n = Number(raw);
        else values.name = raw;
      });
      return { ...p.info, key, pattern: p.info.key, label: fillLabel(p.info.label, values), values };
    }
    return undefined;
  }

  /** Like {@link lookup} but throws a RangeError naming the key when it is not in the catalogue. */
  info(key: string): ResolvedMetric {
    const r = this.lookup(key);
    if (!r) throw new RangeError(`metric "${key}" is not in the metric catalogue${isWellFormedMetricKey(key) ? '' : ' (and does not follow the key style <phase>.<lowerCamelCase segments>)'}`);
    return r;
  }

  has(key: string): boolean {
    return this.lookup(key) !== undefined;
  }

  /**
   * True when `a` is strictly better than `b` for `key`. NaN is never better and anything non-NaN
   * beats NaN. Throws a RangeError for a key outside the catalogue or one without a direction
   * (counts, settings): comparing those would be a silent guess.
   */
  isBetter(key: string, a: number, b: number): boolean {
    const info = this.info(key);
    if (info.direction === 'none') throw new RangeError(`metric "${key}" (${info.label}) has no better direction`);
    if (Number.isNaN(a)) return false;
    if (Number.isNaN(b)) return true;
    return info.direction === 'higher' ? a > b : a < b;
  }

  /**
   * The catalogue extended by a plugin's own keys. Each declared key must follow the style, start
   * with `model.`, `train.` or `validation.` (test and evaluation keys belong to the shared
   * protocols), and not be a key the catalogue already has.
   */
  withPluginMetrics(plugin: string, declarations: readonly MetricDeclaration[], pluginTask: MetricTask = 'any'): MetricCatalogue {
    const added: MetricInfo[] = declarations.map((d) => {
      const phase = d.key.split('.')[0];
      if (!PLUGIN_PHASES.has(phase)) throw new RangeError(`plugin ${plugin}: metric "${d.key}" must start with model., train. or validation. (test. and evaluation. keys belong to the shared protocols)`);
      if (!isWellFormedMetricKey(exampleKey(d.key))) throw new RangeError(`plugin ${plugin}: metric "${d.key}" does not follow the key style (<phase>.<lowerCamelCase segments>, e.g. model.windowNorm)`);
      if (!(METRIC_UNITS as readonly string[]).includes(d.unit)) throw new RangeError(`plugin ${plugin}: metric "${d.key}" has unit "${d.unit}"; use one of ${METRIC_UNITS.join(', ')}`);
      if (!['higher', 'lower', 'none'].includes(d.direction)) throw new RangeError(`plugin ${plugin}: metric "${d.key}" has direction "${d.direction}"; use higher, lower or none`);
      const example = exampleKey(d.key);
      if (this.has(example) || this.has(d.key)) throw new RangeError(`plugin ${plugin}: metric "${d.key}" is already a project metric; log it under that key instead of declaring it`);
      return { key: d.key, label: d.label, unit: d.unit as MetricUnit, direction: d.direction, description: d.description, task: d.task ?? pluginTask, plugin };
    });
    return new MetricCatalogue([...this.entries, ...added]);
  }

  /** Keys (among `keys`) that are not in the catalogue, each with the reason. */
  unknownKeys(keys: Iterable<string>): { key: string; reason: string }[] {
    const out: { key: string; reason: string }[] = [];
    for (const key of new Set(keys)) {
      if (this.has(key)) continue;
      out.push({ key, reason: isWellFormedMetricKey(key) ? 'is not in the metric catalogue (declare it in the plugin\'s `metrics`)' : 'does not follow the key style <phase>.<lowerCamelCase segments> (phase: train, validation, test, model, evaluation)' });
    }
    return out;
  }
}

/** The project's catalogue. */
export const METRIC_CATALOGUE = new MetricCatalogue(PROJECT_METRICS);

/** {@link MetricCatalogue.info} on the project catalogue (or the one given). */
export function metricInfo(key: string, catalogue: MetricCatalogue = METRIC_CATALOGUE): ResolvedMetric {
  return catalogue.info(key);
}

/** {@link MetricCatalogue.isBetter} on the project catalogue (or the one given). */
export function isBetter(key: string, a: number, b: number, catalogue: MetricCatalogue = METRIC_CATALOGUE): boolean {
  return catalogue.isBetter(key, a, b);
}

/** The direction of `key`, or undefined when the catalogue does not know it (the caller decides, visibly). */
export function metricDirection(key: string, catalogue: MetricCatalogue = METRIC_CATALOGUE): MetricDirection | undefined {
  return catalogue.lookup(key)?.direction;
}

/**
 * Keys logged before the key style (runs in old MLflow stores), mapped to today's keys, so that
 * `cascade report` reads both. Exact names first, then spelling rules.
 */
const LEGACY_EXACT: Record<string, string> = {
  train_loss: 'train.loss',
  validation_loss: 'validation.loss',
  best_epoch: 'train.bestEpoch',
  'model.best_epoch': 'train.bestEpoch',
  'model.epochs_trained': 'train.epochs',
  'model.stopped_early': 'train.stoppedEarly',
  learning_rate: 'train.learningRate',
  'trials.finished': 'evaluation.trialsFinished',
  'trials.failed': 'evaluation.trialsFailed',
  'test.mape_by_horizon': 'test.mapeByHorizon',
  'test.kendallTau_by_horizon': 'test.kendallTauByHorizon',
  'test.spearmanRho_by_horizon': 'test.spearmanRhoByHorizon',
};
const LEGACY_RULES: [RegExp, string][] = [
  // The runner's `test.hits_at_10` (MLflow forbids '@'), and NDM's `validation_hits_at_10`.
  [/^(test|validation)[._](hits|map)_at_(\d+)$/, '$1.$2At$3'],
];

/** Today's key for `key` (itself when it is not a legacy spelling). */
export function canonicalMetricKey(key: string): string {
  if (LEGACY_EXACT[key]) return LEGACY_EXACT[key];
  for (const [re, to] of LEGACY_RULES) if (re.test(key)) return key.replace(re, to);
  return key;
}
