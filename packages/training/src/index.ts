/**
 * @cascade-lab/training: the one fit loop and the one optimiser of every trained plugin.
 * See README.md for the API and an example.
 */
export {
  fit,
  yieldToEventLoop,
  type Direction,
  type EpochInfo,
  type EpochPlan,
  type EpochReport,
  type FitContext,
  type FitOptions,
  type FitResult,
  type Monitor,
  type MonitorValues,
  type StepResult,
  type WeightSnapshots,
} from './fit.js';
export { Adam, noamSchedule, constantSchedule, type AdamOptions, type LearningRateSchedule } from './adam.js';
