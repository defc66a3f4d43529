import type { ExecutionSettings, GradientMode } from '@cascade-lab/core';
import { z } from 'zod';

/**
 * NDM's knobs. Parsing `{}` gives the paper's settings (NDM paper §5.2: d = 64, h = 8, win = 3,
 * Finit = 0, dropout 0.1, Adam). Where the paper and the authors' released code differ, the paper's
 * version is the default and the code's is a value of the field named after the difference; where
 * the paper is silent, the code's choice is the default (see the README's table).
 */
export const ndmHyperparameters = z
  .object({
    dimension: z.number().int().min(4).multipleOf(4).default(64).describe('d: size of user embeddings and active user embeddings (§5.2: 64; a multiple of 4)'),
    heads: z.number().int().min(1).default(8).describe('h: attention heads, each with its own d x d query/key/value projections (§4.3, Eq. 3-5; §5.2: 8)'),
    window: z.number().int().min(1).default(3).describe('win: number of position-specific projections W^C_n applied to the last active user embeddings (§4.4, Eq. 6; §5.2: 3)'),
    initialUser: z.boolean().default(false).describe('Finit: add the initial user term act(u_0) W^C_init (Eq. 7; §5.2: off except on Twitter)'),
    initialUserInput: z
      .enum(['active', 'embedding'])
      .default('active')
      .describe('what the Finit term projects: the active embedding act(u_0) (paper, Eq. 7) or the raw embedding emb(u_0) (authors\' code)'),
    dropout: z.number().min(0).max(0.95).default(0.1).describe('dropout on the attention weights and on the attention output (§4.5: 0.1)'),
    learnEnd: z
      .boolean()
      .default(true)
      .describe('train on the Terminate user </s> as a target (paper §4.1); false reproduces the authors\' code, which weights </s> out of the loss so simulations never stop early'),
    layerNorm: z
      .enum(['standard', 'ndm-code'])
      .default('standard')
      .describe('standard layer normalisation (paper §4.5, Ba et al.) or the authors\' variant: (z - mean) / (unbiased std + 1e-3), skipped for a length-1 sequence'),
    scaleScores: z.boolean().default(true).describe('divide attention scores by sqrt(d) as multi-head attention [49] and the authors\' code do (Eq. 4 omits the factor)'),
    windowBias: z.boolean().default(true).describe('a per-user bias in the window projection (the authors\' Conv1d has one; Eq. 6 writes none)'),
    batchSize: z.number().int().min(1).default(32).describe('cascades per mini-batch (authors\' code: 32)'),
    batchOrder: z
      .enum(['random', 'bucketed'])
      .default('random')
      .describe('random: batches of random cascades as the authors\' code (each batch computed in length-sorted sub-batches: same gradient, little padding); bucketed: batches of similar-length cascades (faster, but it gives short cascades more weight per target and fits worse)'),
    lossReduction: z
      .enum(['mean', 'sum'])
      .default('mean')
      .describe('mean: each step minimises the mean cross-entropy of its batch\'s targets; sum: the summed cross-entropy, as the authors\' code (size_average=False), so under Adam a batch\'s step grows with its number of targets and every target weighs the same over an epoch'),
    learningRateSchedule: z
      .enum(['noam', 'constant'])
      .default('noam')
      .describe('noam: lr = d^-0.5 min(step^-0.5, step warmup^-1.5) (authors\' code; the paper gives no learning rate); constant: learningRate'),
    learningRate: z.number().positive().default(0.001).describe('Adam step size when learningRateSchedule is constant'),
    warmupSteps: z.number().int().min(1).default(1000).describe('warm-up steps of the Noam schedule (authors\' code: 1000)'),
    adamBeta1: z.number().min(0).lt(1).default(0.9).describe('Adam beta1 (authors\' code: 0.9)'),
    adamBeta2: z.number().min(0).lt(1).default(0.98).describe('Adam beta2 (authors\' code: 0.98)'),
    adamEpsilon: z.number().positive().default(1e-9).describe('Adam epsilon (authors\' code: 1e-9)'),
    maxEpochs: z.number().int().min(1).default(50).describe('upper bound on training epochs'),
    patience: z.number().int().min(0).default(5).describe('stop after this many epochs without a better validation score; 0 trains maxEpochs epochs'),
    earlyStoppingMetric: z
      .enum(['loss', 'map@10', 'hits@10', 'macroF1', 'earlyMacroF1', 'meanMacroF1', 'none'])
      .default('loss')
      .describe('validation score for early stopping and for choosing the kept epoch: mean next-user negative log-likelihood (lower is better), a ranking metric, or the task itself: simulated Macro-F1, early Macro-F1 or their mean on the validation split (higher is better; selectionSimulations simulations per cascade, every selectionEvery epochs); none trains maxEpochs epochs and keeps the last weights, as the authors\' code'),
    selectionSimulations: z.number().int().min(1).default(100).describe('simulations per validation cascade of the simulated-F1 selection (earlyStoppingMetric macroF1 / earlyMacroF1 / meanMacroF1); the test protocol uses its own count'),
    selectionEvery: z.number().int().min(1).default(1).describe('run the simulated-F1 selection after every k-th epoch (and the last)'),
    finalFit: z
      .enum(['best-epoch', 'retrain-all'])
      .default('best-epoch')
      .describe('best-epoch: keep the weights of the best validation epoch; retrain-all: retrain on training + validation cascades for that many epochs (§5.2)'),
    socialEmbedding: z
      .boolean()
      .default(false)
      .describe('NDM+SN (§5.5): the first d/2 dimensions of every user vector are DeepWalk embeddings of the dataset\'s social graph, frozen'),
    deepWalkWalksPerNode: z.number().int().min(1).default(10).describe('DeepWalk: random walks started at every node (Perozzi et al.: 10)'),
    deepWalkWalkLength: z.number().int().min(2).default(40).describe('DeepWalk: nodes per walk (Perozzi et al.: 40)'),
    deepWalkWindow: z.number().int().min(1).default(5).describe('DeepWalk: skip-gram context window on each side (Perozzi et al.: 5)'),
    deepWalkNegatives: z.number().int().min(1).default(5).describe('DeepWalk: negative samples per positive pair'),
    deepWalkEpochs: z.number().int().min(1).default(1).describe('DeepWalk: passes of skip-gram over the walks'),
  })
  .strict();

export type NdmHyperparameters = z.output<typeof ndmHyperparameters>;

/**
 * How NDM runs (core's ExecutionSettings, the config's `execution` section; not hyperparameters, so
 * not in the config hash): `gradients` manual (a hand-written backward pass, about a third of the
 * kernel calls per step, same result; the Finit term always uses the tape) or tape (TensorFlow.js
 * autodiff, the reference the manual pass is tested against); `batchRows`: simulations advanced
 * together in one batched step of the sampler (memory/speed trade-off).
 */
export interface NdmExecution {
  gradients: GradientMode;
  simulationBatchRows: number;
}

export const DEFAULT_SIMULATION_BATCH_ROWS = 4096;

export function ndmExecution(settings?: Partial<ExecutionSettings>): NdmExecution {
  return { gradients: settings?.gradients ?? 'manual', simulationBatchRows: settings?.batchRows ?? DEFAULT_SIMULATION_BATCH_ROWS };
}

/** Hyperparameters saved by models trained before the execution settings left them (read, then dropped). */
export const FORMER_HYPERPARAMETERS = ['gradients', 'simulationBatchRows'] as const;

/** The paper's defaults, i.e. the schema applied to `{}`. */
export function defaultHyperparameters(overrides: Partial<NdmHyperparameters> = {}): NdmHyperparameters {
  return ndmHyperparameters.parse(overrides);
}
