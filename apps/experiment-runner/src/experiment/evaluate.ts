/**
 * The runner's side of evaluation: the task protocols live in `@cascade-lab/evaluation`; this maps
 * the config's `evaluation` section onto them.
 */
import type { MacroscopicDataset, MacroscopicModel, MicroscopicDataset, MicroscopicModel } from '@cascade-lab/core';
import { runMacroscopicProtocol, runMicroscopicProtocol, type EvaluationOutcome, type ProtocolContext, type ProtocolSettings } from '@cascade-lab/evaluation';
import type { ExperimentConfig } from './config.js';

export type { EvaluationOutcome } from '@cascade-lab/evaluation';

/** The protocols' settings from the config's `evaluation` section. */
export function settingsOf(evaluation: ExperimentConfig['evaluation']): ProtocolSettings {
  return {
    simulations: evaluation.simulations,
    earlyStageUsers: evaluation.earlyStageUsers,
    rankingK: evaluation.rankingK,
    maxTestCascades: evaluation.maxTestCascades,
    stepwiseBoundaries: evaluation.stepwiseBoundaries,
  };
}

/** The microscopic protocol (NDM paper §5.3; ranking and edge scores when the model offers them) on the test split. */
export function evaluateMicroscopicRun(model: MicroscopicModel, data: MicroscopicDataset, evaluation: ExperimentConfig['evaluation'], ctx: ProtocolContext): Promise<EvaluationOutcome> {
  return runMicroscopicProtocol(model, data, settingsOf(evaluation), ctx);
}

/** The macroscopic protocol (GammaCas paper §5) at every horizon of the dataset, on the test split. */
export function evaluateMacroscopicRun(model: MacroscopicModel, data: MacroscopicDataset, evaluation: ExperimentConfig['evaluation'], ctx: ProtocolContext): Promise<EvaluationOutcome> {
  return runMacroscopicProtocol(model, data, settingsOf(evaluation), ctx);
}
