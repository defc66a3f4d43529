/**
 * Decimals for a report table when the user gives none: at least `min` (3, as the papers print),
 * more where a metric's best value would otherwise print like the next one (a bold "best" that
 * looks like a tie), at most `max`.
 */
export function digitsFromSpread(columns: Iterable<{ best: number[]; others: number[] }>, min = 3, max = 6): number {
  let digits = min;
  for (const { best, others } of columns) {
    const top = best.filter(Number.isFinite);
    const rest = others.filter(Number.isFinite);
    if (top.length === 0 || rest.length === 0) continue;
    // The best value(s) against the closest other value: enough digits to tell them apart.
    let closest = rest[0];
    for (const v of rest) if (Math.abs(v - top[0]) < Math.abs(closest - top[0])) closest = v;
    while (digits < max && top[0].toFixed(digits) === closest.toFixed(digits)) digits++;
  }
  return digits;
}
