import { z } from 'zod';

/**
 * GammaCas hyperparameters. Parsing `{}` gives the paper's settings (GammaCas paper §4.2); the
 * authors' released code differs in a few places, each available as an option and named as such.
 */
export const gammaCasHyperparameters = z
  .object({
    variant: z
      .enum(['full', 'no-news', 'counts-only'])
      .default('full')
      .describe(
        'Signals used (§4.4): full = counts, followers, root text and news (GammaCas); no-news = no news attention, mu from the root text alone (the paper\'s "GammaCas-text"); counts-only = counts and followers only, no mu (the paper\'s "GammaCas-CO")',
      ),
    cell: z
      .enum(['follower-gated', 'lstm'])
      .default('follower-gated')
      .describe('Recurrent cell (§3.3): the follower-gated LSTM, or a plain LSTM on [count, followers] (the paper\'s "GammaCas-LSTM")'),
    gateActivation: z
      .enum(['sigmoid', 'hard-sigmoid'])
      .default('sigmoid')
      .describe('Activation of the input, forget and output gates: sigmoid (paper) or Keras 2 hard_sigmoid clip(0.2x + 0.5, 0, 1) (authors\' code)'),
    stateSize: z.number().int().positive().default(16).describe('State size s of the recurrent cell (§4.2: 16)'),
    embeddingDim: z.number().int().positive().default(256).describe('Word embedding size d (§4.2: 256); must be even for the sinusoidal position encoding'),
    maxTextTokens: z.number().int().positive().default(30).describe('Root text padded/truncated to this many tokens (§4.2: 30)'),
    maxNewsTokens: z.number().int().positive().default(36).describe('Each news headline padded/truncated to this many tokens (§4.2: 36)'),
    maxNewsItems: z.number().int().positive().default(8).describe('News items per cascade the attention sees (the first ones the dataset lists); the paper does not give its number'),
    pretrainedEmbeddings: z
      .string()
      .nullable()
      .default(null)
      .describe('word2vec text file ("word v1 ... vd" per line, optional "count dim" header) to initialise the embeddings from (§4.2 uses Word2Vec vectors), a relative path taken from the experiment config file\'s directory; null: random init. Needs the dataset\'s word list'),
    embeddingInitRange: z
      .number()
      .positive()
      .default(0.05)
      .describe(
        'Random word embeddings start uniform in [-r, r] (0.05: Keras\' default, as the authors\' code where no pre-trained vector exists). The paper starts from Word2Vec vectors, whose norms are a few units; with 0.05 (norm 0.46 at d 256) the sinusoidal position encoding outweighs the words, the news attention starts uniform and the content path learns slowly. 0.3 gives norm 2.8',
      ),
    inputNormalization: z
      .enum(['log-standardize', 'layer-norm'])
      .default('log-standardize')
      .describe(
        'Trainable normalisation of counts and follower sums (§3.3): log-standardize = trainable per-feature scale and shift on log(1 + x), initialised to the training set\'s mean and std; layer-norm = Keras LayerNormalization across [count, followers] of each bin (authors\' code; with two features it keeps little more than the sign of their difference)',
      ),
    integrator: z
      .enum(['rk4', 'closed-form', 'dopri5'])
      .default('rk4')
      .describe('How the rate is integrated to each horizon (§3.7): fixed-step RK4 (paper), the exact incomplete-gamma closed form, or adaptive Dormand-Prince 5(4) (authors\' code)'),
    rk4Steps: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe(
        'RK4 steps over the longest training horizon: the step (hours) is fixed at training, and any horizon is integrated from 0 with it (whole steps, then one shorter step). The paper fixes the number of steps without giving it; 1000 over 360 h keeps the error below 2% for decays up to lambda = 1/h, where 50 steps are off by up to 80%',
      ),
    dopri5RelativeTolerance: z.number().positive().default(1e-4).describe('Dormand-Prince relative error tolerance per step'),
    dopri5AbsoluteTolerance: z.number().positive().default(1e-3).describe('Dormand-Prince absolute error tolerance per step (in retweets)'),
    dopri5MaxSteps: z.number().int().positive().default(2000).describe('Dormand-Prince step budget per integration (accepted plus rejected); exceeding it is an error'),
    retweetUnit: z
      .number()
      .positive()
      .default(1)
      .describe(
        'Retweets per unit of the A head: A = retweetUnit * mu * relu(w_A h + b_A), and the next-bin MSE is measured in these units. 1 is the paper. The heads read a bounded LSTM state and Adam moves a weight by about learningRate per step, so A can only reach a few tens in a few thousand steps: for cascades of thousands of retweets use a unit near (median retweets in the window) / 20',
      ),
    zeta: z.number().nonnegative().default(0.25).describe('Weight of the autoregressive next-bin MSE in the loss (Eq. 18; paper 0.25, the authors\' code effectively 1)'),
    learningRate: z.number().positive().default(0.0025).describe('Adam learning rate (§4.2: 0.0025)'),
    textLearningRate: z
      .number()
      .positive()
      .nullable()
      .default(null)
      .describe('Adam learning rate of the content path (word embeddings, word attention, the mu head); null: learningRate for every weight, as the paper'),
    batchSize: z.number().int().positive().default(256).describe('Cascades per mini-batch (§4.2: 256)'),
    epochs: z.number().int().positive().default(40).describe('Training epochs (§4.2: 40)'),
    keepBestEpoch: z
      .boolean()
      .default(false)
      .describe('Keep the weights of the epoch with the lowest validation loss (needs a validation set); false: the last epoch\'s, as the paper trains a fixed 40 epochs'),
  })
  .strict();

export type GammaCasHyperparameters = z.output<typeof gammaCasHyperparameters>;
