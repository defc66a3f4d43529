import { describe, expect, it } from '@jest/globals';
import { datasetOffer, parseDatasetConfig } from './index.js';

const offer = (input: unknown) => datasetOffer(parseDatasetConfig(input));

describe('datasetOffer: what a configured dataset offers, before loading', () => {
  it('registered datasets: from the format and the listed files', () => {
    expect(offer({ name: 'memetracker' })).toEqual({ socialGraph: false, eventTimes: true, followerCounts: false, text: false, cascadeGraph: false, validationSplit: true });
    expect(offer({ name: 'christianity' }).socialGraph).toBe(true);
    expect(offer({ name: 'weibo-sample' })).toMatchObject({ cascadeGraph: true, followerCounts: false, eventTimes: true });
    expect(offer({ name: 'deepcas-test-net' })).toMatchObject({ cascadeGraph: true, eventTimes: false });
    expect(offer({ name: 'tideh-rt' })).toMatchObject({ followerCounts: true, cascadeGraph: false, text: false });
    // Christianity has its own validation file; Memetracker none, so a 0 fraction leaves none.
    expect(offer({ name: 'christianity', split: { validationFraction: 0 } }).validationSplit).toBe(true);
    expect(offer({ name: 'memetracker', split: { validationFraction: 0 } }).validationSplit).toBe(false);
  });

  it('path datasets: optional parts are unknown until loaded', () => {
    expect(offer({ path: 'x', format: 'infvae' }).socialGraph).toBe('unknown');
    expect(offer({ path: 'x', format: 'jsonl' })).toMatchObject({ text: 'unknown', followerCounts: 'unknown' });
    expect(offer({ path: 'x', format: 'infvae', split: { validationFraction: 0 } }).validationSplit).toBe('unknown');
    expect(offer({ path: 'x', format: 'ndm', split: { validationFraction: 0 } }).validationSplit).toBe(false);
  });
});
