import { describe, expect, it } from '@jest/globals';
import { dataOfferOf, describeMissingNeeds, missingDataNeeds, type DataOffer } from './data-needs.js';
import { tinyMacroscopicDataset, tinyMicroscopicDataset } from './conformance/datasets.js';

describe('data needs', () => {
  it('lists the needs an offer lacks, and counts unknown as met', () => {
    const offer: DataOffer = { socialGraph: false, eventTimes: true, followerCounts: 'unknown', text: false, cascadeGraph: false, validationSplit: true };
    expect(missingDataNeeds(['socialGraph', 'eventTimes', 'followerCounts', 'text'], offer)).toEqual(['socialGraph', 'text']);
    expect(missingDataNeeds(undefined, offer)).toEqual([]);
    expect(describeMissingNeeds(['socialGraph'])).toMatch(/^socialGraph \(a social graph/);
  });

  it('reads what a loaded microscopic dataset holds', () => {
    const d = tinyMicroscopicDataset();
    expect(dataOfferOf(d)).toEqual({ socialGraph: false, eventTimes: true, followerCounts: false, text: false, cascadeGraph: false, validationSplit: true });
    const withGraph = { ...d, graph: { directed: false, numNodes: d.users.size, edges: Int32Array.from([2, 3]) }, validation: [] };
    expect(dataOfferOf(withGraph)).toMatchObject({ socialGraph: true, validationSplit: false });
  });

  it('reads what a loaded macroscopic dataset holds (a cascade graph only when every cascade has one)', () => {
    const d = tinyMacroscopicDataset();
    expect(dataOfferOf(d)).toEqual({ socialGraph: false, eventTimes: true, followerCounts: true, text: true, cascadeGraph: false, validationSplit: true });
    const graph = { numNodes: 1, edges: new Int32Array(0) };
    const all = (cs: typeof d.train) => cs.map((c) => ({ ...c, cascadeGraph: graph }));
    expect(dataOfferOf({ ...d, train: all(d.train), validation: all(d.validation), test: all(d.test) }).cascadeGraph).toBe(true);
    expect(dataOfferOf({ ...d, train: all(d.train) }).cascadeGraph).toBe(false);
    const bare = (cs: typeof d.train) => cs.map((c) => ({ ...c, windowEvents: [], rootFollowers: 0 }));
    expect(dataOfferOf({ ...d, vocabularySize: 0, train: bare(d.train), validation: bare(d.validation), test: bare(d.test) })).toMatchObject({ eventTimes: false, followerCounts: false, text: false });
  });
});
