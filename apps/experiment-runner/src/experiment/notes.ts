/**
 * Says why a final metric is NaN instead of leaving a bare "NaN" in the table (issue 21): most are
 * undefined on the test set at hand, not bugs, and the user should know which and what to change.
 */
export function explainNaNMetrics(metrics: Record<string, number>): string[] {
  const nan = Object.keys(metrics).filter((k) => Number.isNaN(metrics[k])).sort();
  if (nan.length === 0) return [];
  const n = metrics['test.cascades'];
  const cascades = n === undefined ? 'the test set' : `the ${n} test cascades`;
  const notes: string[] = [];
  const stepwise = nan.filter((k) => /stepwiseTau$/i.test(k));
  if (stepwise.length)
    notes.push(
      `${stepwise.join(', ')} = NaN: the step-wise Kendall tau needs a size range holding two or more of ${cascades}; widen the ranges with evaluation.stepwiseBoundaries or evaluate more cascades`,
    );
  const rank = nan.filter((k) => /(kendallTau|spearmanRho)$/.test(k));
  if (rank.length) notes.push(`${rank.join(', ')} = NaN: a rank correlation is undefined when ${cascades} (or their predictions) are all tied or fewer than two`);
  const other = nan.filter((k) => !stepwise.includes(k) && !rank.includes(k));
  if (other.length) notes.push(`${other.join(', ')} = NaN on ${cascades}`);
  return notes;
}
