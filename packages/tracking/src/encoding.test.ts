import { describe, expect, it } from '@jest/globals';
import { decodeMetricValue, encodeMetricValue } from './encoding.js';
import { splitLogBatch } from './batching.js';

describe('metric value encoding', () => {
  it('writes non-finite values as the protobuf JSON strings the server parses', () => {
    expect(encodeMetricValue(NaN)).toBe('NaN');
    expect(encodeMetricValue(Infinity)).toBe('Infinity');
    expect(encodeMetricValue(-Infinity)).toBe('-Infinity');
    expect(encodeMetricValue(1.5)).toBe(1.5);
    expect(Object.is(encodeMetricValue(-0), 0)).toBe(true);
  });

  it('reads back strings and the SQL store\'s ±DBL_MAX stand-ins for infinity', () => {
    expect(decodeMetricValue('NaN')).toBeNaN();
    expect(decodeMetricValue('Infinity')).toBe(Infinity);
    expect(decodeMetricValue('-Infinity')).toBe(-Infinity);
    expect(decodeMetricValue(1.7976931348623157e308)).toBe(Infinity);
    expect(decodeMetricValue(-1.7976931348623157e308)).toBe(-Infinity);
    expect(decodeMetricValue(0.25)).toBe(0.25);
    expect(decodeMetricValue('0.25')).toBe(0.25);
    expect(() => decodeMetricValue('abc')).toThrow(TypeError);
  });

  it('puts the encoded values into the log-batch JSON body', () => {
    const [chunk] = splitLogBatch('r', {
      metrics: [
        { key: 'loss', value: NaN, step: 0, timestamp: 1 },
        { key: 'loss', value: -Infinity, step: 1, timestamp: 2 },
      ],
    });
    expect(JSON.stringify(chunk.body)).toBe(
      '{"run_id":"r","metrics":[{"key":"loss","value":"NaN","timestamp":1,"step":0},{"key":"loss","value":"-Infinity","timestamp":2,"step":1}],"params":[],"tags":[]}',
    );
  });
});
