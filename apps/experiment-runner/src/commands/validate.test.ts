import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli.test-util.js';

const dir = mkdtempSync(join(tmpdir(), 'cascade-validate-'));

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('cascade validate: data needs', () => {
  it('says, with file:line, that the Weibo sample has no text for GammaCas (full), and accepts counts-only', async () => {
    const file = write('gammacas-weibo.yaml', 'name: g\nseed: 1\ndataset:\n  name: weibo-sample\nmodel:\n  name: gammacas\n');
    const r = await runCli('validate', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:4:`);
    expect(r.stderr).toMatch(/dataset\.name: model gammacas needs text \(root-post text or news/);
    expect(r.stderr).toMatch(/which dataset weibo-sample \(weibo format\) does not offer/);
    const ok = write('gammacas-co-weibo.yaml', 'name: g\nseed: 1\ndataset:\n  name: weibo-sample\nmodel:\n  name: gammacas\n  hyperparameters:\n    variant: counts-only\n');
    const good = await runCli('validate', ok);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/ok .*model gammacas \(macroscopic\)/);
  });

  it('refuses GammaCas on DeepCas graphs, which have no event times', async () => {
    const file = write('gammacas-deepcas.yaml', 'name: g\ndataset:\n  name: deepcas-test-net\n  window:\n    horizonsHours: [24, 48]\nmodel:\n  name: gammacas\n  hyperparameters: { variant: counts-only }\n');
    const r = await runCli('validate', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')}:3:.*needs eventTimes`));
  });
});

describe('cascade plugins: data needs', () => {
  it('lists what each plugin needs with its default hyperparameters', async () => {
    const r = await runCli('plugins', 'gammacas', '--json');
    expect(r.code).toBe(0);
    const [g] = JSON.parse(r.stdout) as { dataNeeds: string[]; fitting: string }[];
    expect(g).toMatchObject({ dataNeeds: ['eventTimes', 'text'], fitting: 'data' });
    const text = await runCli('plugins', 'popularity');
    expect(text.stdout).toContain('data needs (defaults): none beyond the task');
  });
});
