/**
 * Test data: core's tiny macroscopic dataset with a seeded cascade graph on every cascade: each
 * retweeter's parent is the root or an earlier node, and nodes are users drawn from a small pool
 * (distinct within a cascade), so that training and test graphs share nodes.
 */
import { Rng, type MacroscopicDataset, type WindowedCascade } from '@cascade-lab/core';
import { tinyMacroscopicDataset } from '@cascade-lab/core/testing';

export function withGraphs(data: MacroscopicDataset, seed = 5, users = 60): MacroscopicDataset {
  const rng = Rng.fromSeed(seed);
  const add = (c: WindowedCascade): WindowedCascade => {
    const n = c.observedSize;
    const pool = rng.shuffle(Array.from({ length: users }, (_, i) => `u${i}`));
    const ids = Array.from({ length: n }, (_, v) => (v < users ? pool[v] : `${c.id}-${v}`));
    const edges: number[] = [];
    for (let v = 1; v < n; v++) edges.push(rng.next() < 0.5 ? 0 : rng.int(v), v);
    return { ...c, cascadeGraph: { numNodes: n, edges: Int32Array.from(edges), nodeIds: ids } };
  };
  return { ...data, train: data.train.map(add), validation: data.validation.map(add), test: data.test.map(add) };
}

export function tinyGraphDataset(): MacroscopicDataset {
  return withGraphs(tinyMacroscopicDataset());
}
