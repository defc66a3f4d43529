import { metricPanelsSpec, predictedVsActualSpec, renderPng, renderSvg } from './plots.js';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe('plots', () => {
  const points = [1, 2, 3].flatMap((step) => [
    { step, value: 5 - step, series: 'train.loss' },
    { step, value: 0.1 * step, series: 'validation.hits@10' },
  ]);

  it('renders a learning curve to SVG with its title and axis text', async () => {
    const svg = await renderSvg(metricPanelsSpec(points, 'NDM on memetracker'));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('NDM on memetracker');
    expect(svg).toContain('epoch');
  });

  it('renders PNGs (faceted metrics, predicted vs actual)', async () => {
    const png = await renderPng(metricPanelsSpec(points, 'metrics'));
    expect([...png.subarray(0, 8)]).toEqual(PNG_MAGIC);
    const scatter = await renderPng(predictedVsActualSpec([{ actual: 10, predicted: 12, horizon: '24h' }, { actual: 100, predicted: Infinity, horizon: '24h' }], 'sizes'));
    expect([...scatter.subarray(0, 8)]).toEqual(PNG_MAGIC);
    // IHDR width (bytes 16..19) is the spec width plus padding, times the zoom of 2.
    expect(scatter.readUInt32BE(16)).toBeGreaterThan(700);
  });
});
