import { Resvg } from '@resvg/resvg-js';

/** A Vega-Lite specification (kept loose: the library validates it). */
export type VegaLiteSpec = Record<string, unknown>;

/**
 * Renders a Vega-Lite spec to SVG with vega in Node (no canvas needed), then to PNG with resvg.
 * vega and vega-lite are ESM with top-level await, so they are imported dynamically.
 */
let libraries: Promise<[typeof import('vega'), typeof import('vega-lite')]> | undefined;

function loadLibraries(): Promise<[typeof import('vega'), typeof import('vega-lite')]> {
  // Imported one after the other: they share modules, and Jest's ESM loader trips over two
  // concurrent imports of the same module graph.
  libraries ??= (async () => {
    const vega = await import('vega');
    const vl = await import('vega-lite');
    return [vega, vl] as [typeof import('vega'), typeof import('vega-lite')];
  })();
  return libraries;
}

export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const [vega, vl] = await loadLibraries();
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function renderPng(spec: VegaLiteSpec, scale = 2): Promise<Buffer> {
  const svg = await renderSvg(spec);
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}

export interface SeriesPoint {
  step: number;
  value: number;
  series: string;
}

/**
 * Learning curves: one panel per metric (so loss and hits@k, of different scales, stay readable).
 */
export function metricPanelsSpec(points: SeriesPoint[], title: string, xTitle = 'epoch'): VegaLiteSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: points },
    facet: { field: 'series', type: 'nominal', title: null },
    columns: 3,
    spec: {
      width: 220,
      height: 150,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: xTitle },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/** Log-log scatter of predicted against actual sizes with the y = x line. */
export function predictedVsActualSpec(rows: { actual: number; predicted: number; horizon: string }[], title: string): VegaLiteSpec {
  const finite = rows.filter((r) => Number.isFinite(r.predicted) && r.predicted > 0 && r.actual > 0);
  const lo = Math.min(...finite.map((r) => Math.min(r.actual, r.predicted)), 1);
  const hi = Math.max(...finite.map((r) => Math.max(r.actual, r.predicted)), 10);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 360,
    height: 360,
    layer: [
      {
        data: { values: finite },
        mark: { type: 'point', opacity: 0.6 },
        encoding: {
          x: { field: 'actual', type: 'quantitative', scale: { type: 'log', domain: [lo, hi] }, title: 'actual size' },
          y: { field: 'predicted', type: 'quantitative', scale: { type: 'log', domain: [lo, hi] }, title: 'predicted size' },
          // By hours, not as text (12 h, 18 h, 120 h; not 12 h, 120 h, 18 h).
          color: { field: 'horizon', type: 'ordinal', title: 'horizon', sort: [...new Set(finite.map((r) => r.horizon))].sort((a, b) => parseFloat(a) - parseFloat(b) || a.localeCompare(b)) },
        },
      },
      {
        data: { values: [{ actual: lo, predicted: lo }, { actual: hi, predicted: hi }] },
        mark: { type: 'line', color: 'gray', strokeDash: [4, 4] },
        encoding: { x: { field: 'actual', type: 'quantitative' }, y: { field: 'predicted', type: 'quantitative' } },
      },
    ],
  };
}
