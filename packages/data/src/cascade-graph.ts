/**
 * Cascade graphs (core's `CascadeGraph`: who passed a cascade to whom) from the formats that carry
 * them, and the part of one observed inside a window. Node 0 is the root; the other nodes are
 * numbered in order of first mention (Weibo: time order of the retweets; DeepCas: the starters,
 * then the edge list's order), so the numbering is a function of the file alone.
 */
import { CascadeError, type CascadeGraph, type WindowedCascade } from '@cascade-lab/core';
import type { DeepCasCascade } from './formats/deepcas.js';
import type { WeiboCascade } from './formats/weibo.js';

class GraphBuilder {
  private readonly index = new Map<string, number>();
  readonly ids: string[] = [];
  readonly edges: number[] = [];
  readonly weights: number[] = [];
  readonly times: number[] = [];

  node(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.length;
      this.index.set(id, i);
      this.ids.push(id);
    }
    return i;
  }

  edge(source: string, target: string, weight?: number, time?: number): void {
    this.edges.push(this.node(source), this.node(target));
    if (weight !== undefined) this.weights.push(weight);
    if (time !== undefined) this.times.push(time);
  }

  build(): CascadeGraph {
    const g: CascadeGraph = { numNodes: this.ids.length, edges: Int32Array.from(this.edges), nodeIds: this.ids };
    if (this.weights.length > 0) g.weights = Float32Array.from(this.weights);
    if (this.times.length > 0) g.edgeTimes = Float64Array.from(this.times);
    return g;
  }
}

/**
 * The retweet tree of a Weibo (DeepHawkes path) cascade: for each path `a/.../p/c:t`, the edge
 * p -> c at time t (c got the message from p). Paths are in time order (the parser sorts them).
 */
export function weiboCascadeGraph(c: WeiboCascade): CascadeGraph {
  const b = new GraphBuilder();
  b.node(c.rootUser);
  for (const p of c.paths) b.edge(p.nodes[p.nodes.length - 2], p.nodes[p.nodes.length - 1], undefined, p.time);
  return b.build();
}

/**
 * The observed graph of a DeepCas cascade: the first starter is the root (node 0), the other
 * starters follow, then the edges `src:tgt:weight` in file order. DeepCas' graphs are snapshots at the
 * end of the observation (no times).
 */
export function deepCasCascadeGraph(c: DeepCasCascade): CascadeGraph {
  const b = new GraphBuilder();
  for (const s of c.starters) b.node(s);
  for (const e of c.edges) b.edge(e.source, e.target, e.weight);
  return b.build();
}

/**
 * The part of `g` observed up to `seconds` after the root: the edges whose time is <= seconds and
 * their nodes, renumbered in order of first mention with the root kept at 0. A graph without edge
 * times is a snapshot already and is returned as is.
 */
export function cascadeGraphUpTo(g: CascadeGraph, seconds: number): CascadeGraph {
  if (!g.edgeTimes) return g;
  const remap = new Int32Array(g.numNodes).fill(-1);
  const ids: string[] = [];
  const take = (u: number) => {
    if (remap[u] < 0) {
      remap[u] = ids.length;
      ids.push(g.nodeIds ? g.nodeIds[u] : String(u));
    }
    return remap[u];
  };
  take(0);
  const edges: number[] = [];
  const weights: number[] = [];
  const times: number[] = [];
  const m = g.edges.length / 2;
  for (let k = 0; k < m; k++) {
    if (!(g.edgeTimes[k] <= seconds)) continue;
    edges.push(take(g.edges[2 * k]), take(g.edges[2 * k + 1]));
    times.push(g.edgeTimes[k]);
    if (g.weights) weights.push(g.weights[k]);
  }
  const out: CascadeGraph = { numNodes: ids.length, edges: Int32Array.from(edges), edgeTimes: Float64Array.from(times) };
  if (g.weights) out.weights = Float32Array.from(weights);
  if (g.nodeIds) out.nodeIds = ids;
  return out;
}

/**
 * A DeepCas cascade as a windowed cascade: the snapshot graph, its size (the nodes, root included),
 * and targets = size + label k at the k-th of `horizonsHours` (DeepCas' labels are the size
 * increments at later time points that the file does not name; the config names them). The format
 * has no event times: `counts`, `followerSums` and `windowEvents` are empty (plugins that read them
 * declare `eventTimes`, which this format does not offer).
 */
export function deepCasWindowed(c: DeepCasCascade, horizonsHours: readonly number[]): WindowedCascade {
  if (c.labels.length !== horizonsHours.length) {
    throw new CascadeError('USAGE', `DeepCas cascade ${c.id} has ${c.labels.length} labels (size increments at time points the format does not name), but ${horizonsHours.length} horizons are configured`, {
      hint: `set dataset.window.horizonsHours to the ${c.labels.length} time points the labels are at, in increasing order`,
    });
  }
  return {
    id: c.id,
    counts: new Float32Array(0),
    followerSums: new Float32Array(0),
    rootFollowers: 0,
    observedSize: c.numNodes,
    targets: Float64Array.from(c.labels, (l) => c.numNodes + l),
    windowEvents: [],
    cascadeGraph: deepCasCascadeGraph(c),
  };
}
