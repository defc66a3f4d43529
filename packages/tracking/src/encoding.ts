/**
 * Metric values on the wire. MLflow's REST API parses requests with protobuf's JSON mapping, where a
 * double may be the strings `"NaN"`, `"Infinity"` and `"-Infinity"` (plain JSON has no literal for
 * them). The SQL store keeps NaN (answered back as `"NaN"`) but saves ±infinity as ±DBL_MAX
 * (1.7976931348623157e308), so reading back maps ±DBL_MAX to ±Infinity.
 */
export type EncodedMetricValue = number | 'NaN' | 'Infinity' | '-Infinity';

export function encodeMetricValue(value: number): EncodedMetricValue {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  // -0 serialises as 0 in JSON anyway; normalise so equality checks agree.
  return value === 0 ? 0 : value;
}

export function decodeMetricValue(value: number | string): number {
  if (typeof value === 'number') {
    if (value === Number.MAX_VALUE) return Infinity;
    if (value === -Number.MAX_VALUE) return -Infinity;
    return value;
  }
  switch (value) {
    case 'NaN':
      return NaN;
    case 'Infinity':
      return Infinity;
    case '-Infinity':
      return -Infinity;
    default: {
      const n = Number(value);
      if (value.trim() === '' || Number.isNaN(n)) throw new TypeError(`not a metric value: ${JSON.stringify(value)}`);
      return n;
    }
  }
}
