/**
 * @cascade-lab/tensor-ops: the TensorFlow.js backend (chosen and reported truthfully), the wasm
 * backend's missing kernels, and the differentiable building blocks the models share.
 */
export { tf } from './tf.js';
export {
  initBackend,
  initTensorflowIfInstalled,
  currentBackend,
  findSharedLibrary,
  BACKEND_PREFERENCES,
  NATIVE_SETUP_HINT,
  type BackendPreference,
  type BackendName,
  type BackendSelection,
  type BackendCandidate,
  type CandidateStatus,
  type InitBackendOptions,
} from './backend.js';
export { registerWasmKernelGaps } from './wasm-kernels.js';
export { LookupAttentionTable, WeightedRowTable } from './host/weighted-row-sum.js';
export { RowDotTable } from './host/row-dots.js';
export { skipGram, type SkipGramOptions } from './skip-gram.js';
export {
  normal,
  uniform,
  xavierNormal,
  xavierUniform,
  orthogonal,
  constant,
  zeros,
  ones,
  fansOf,
  type Initializer,
  type Fans,
} from './init.js';
export { WeightHolder, type NamedTensors } from './weights.js';
export { maskedSoftmax, maskedLogSoftmax } from './masked-softmax.js';
export {
  multiHeadAttention,
  MultiHeadAttention,
  type MultiHeadAttentionWeights,
  type MultiHeadAttentionConfig,
  type AttentionOptions,
  type AttentionResult,
} from './attention.js';
export { layerNorm, layerNormForward, layerNormBackward, LayerNorm, type LayerNormOptions, type LayerNormVariant, type LayerNormTrace } from './layer-norm.js';
export {
  lstmStep,
  lstmSequence,
  followerGatedLstmStep,
  gruStep,
  hardSigmoid,
  LSTMCell,
  FollowerGatedLSTMCell,
  GRUCell,
  type GateActivation,
  type LSTMState,
  type LSTMWeights,
  type FollowerGatedLSTMWeights,
  type GRUWeights,
  type LSTMStepOptions,
  type LSTMSequenceOptions,
  type RecurrentCellConfig,
  type LSTMCellConfig,
  type FollowerGatedLSTMCellConfig,
} from './rnn-cells.js';
export { sinusoidalPositionEncoding, addPositionEncoding } from './position-encoding.js';
export { rk4Integrate, gammaRate, rk4GammaRateIntegral, type Rk4Options } from './rk4.js';
export {
  regularizedLowerGamma,
  gammaRateIntegral,
  regularizedLowerGammaF64,
  gammaIntegralF64,
  lgamma,
  digamma,
  type GammaPResult,
  type GammaIntegralResult,
} from './incomplete-gamma.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  loadCheckpointInto,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type CheckpointManifest,
  type CheckpointEntry,
  type TensorSpec,
  type LoadCheckpointOptions,
  type LoadedCheckpoint,
} from './checkpoint.js';
export { GraphFunction, graphFunctionsEnabled, type DynamicDim, type GraphFunctionOptions, type GraphFunctionStats } from './graph-function.js';
export { gridSize, shapeGrid, type ShapeGridOptions } from './shape-grid.js';
