import { z } from 'zod';

/** Sizes the paper's protocol chooses from on the validation split (NDM paper §5.1). */
export const SIZE_CHOICES = [16, 32, 64, 128] as const;

/**
 * The LSTM baseline's knobs (NDM paper §5.1: "LSTM ... embedding size and hidden size chosen from
 * {16, 32, 64, 128}"). The paper is silent on the optimiser and epochs: Adam, batch 32 and the
 * epoch chosen on validation, as for NDM.
 */
export const lstmHyperparameters = z.strictObject({
  embeddingSize: z.number().int().min(1).default(64).describe('size of the user embedding fed to the LSTM (§5.1: chosen from 16, 32, 64, 128 on validation)'),
  hiddenSize: z.number().int().min(1).default(64).describe('LSTM hidden size (§5.1: chosen from 16, 32, 64, 128 on validation)'),
  learnEnd: z.boolean().default(true).describe('train on </s> as a target, so a simulation can stop (as NDM §4.1); false weights </s> out of the loss, as the NDM authors\' code, and simulations run to their budget'),
  learningRate: z.number().positive().default(0.001).describe('Adam step size'),
  batchSize: z.number().int().min(1).default(32).describe('cascades per Adam step'),
  lengthBucketing: z
    .boolean()
    .default(false)
    .describe('batch cascades of similar length (shuffled, then sorted by length within pools of 64 batches; the batch order shuffled): fewer padded LSTM steps, but other batches than the default random ones, so other numbers'),
  maxEpochs: z.number().int().min(1).default(30).describe('most epochs'),
  patience: z.number().int().min(0).default(5).describe('epochs without a better validation value before stopping (0: never stop early)'),
  earlyStoppingMetric: z
    .enum(['loss', 'macroF1', 'earlyMacroF1', 'meanMacroF1', 'none'])
    .default('meanMacroF1')
    .describe('what picks the kept epoch on validation: next-user NLL (loss), the simulated protocol (macroF1, earlyMacroF1, their mean), or none (last epoch)'),
  selectionSimulations: z.number().int().min(1).default(100).describe('simulations per validation cascade for a simulated selection metric'),
  selectionEvery: z.number().int().min(1).default(1).describe('run the simulated selection every k-th epoch (and after the last)'),
});
export type LstmHyperparameters = z.output<typeof lstmHyperparameters>;

/** Simulations advanced together by the sampler unless the config's `execution.batchRows` says otherwise. */
export const DEFAULT_SIMULATION_BATCH_ROWS = 4096;
