import { z } from 'zod';
import { CascadeError } from './errors.js';
import { createContainer, pluginModule, PluginRegistry } from './container.js';
import type { MicroscopicPlugin } from './plugin.js';

function fakePlugin(name: string): MicroscopicPlugin<{ d: number }> {
  return {
    name,
    task: 'microscopic',
    description: `${name} for tests`,
    hyperparameters: z.object({ d: z.number().default(1) }),
    train: async () => {
      throw new Error('not used in this test');
    },
    load: async () => {
      throw new Error('not used in this test');
    },
  };
}

describe('plugin registry through inversify', () => {
  it('finds every plugin bound by its module (multi-injection)', () => {
    const container = createContainer([pluginModule(fakePlugin('ndm')), pluginModule(fakePlugin('lstm'))]);
    const registry = container.get(PluginRegistry);
    expect(registry.names()).toEqual(['lstm', 'ndm']);
    expect(registry.get('ndm').description).toBe('ndm for tests');
  });

  it('fails on an unknown model with the known ones and a suggestion', () => {
    const registry = createContainer([pluginModule(fakePlugin('ndm')), pluginModule(fakePlugin('netrate'))]).get(PluginRegistry);
    let err: unknown;
    try {
      registry.get('netrat');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CascadeError);
    expect((err as CascadeError).code).toBe('UNKNOWN_MODEL');
    expect((err as CascadeError).exitCode).toBe(3);
    expect((err as Error).message).toBe('unknown model "netrat" (did you mean "netrate"?); known models: ndm, netrate');
  });

  it('refuses two plugins with one name', () => {
    expect(() => new PluginRegistry([fakePlugin('a'), fakePlugin('a')])).toThrow(/two plugins/);
  });

  it('works with no plugins at all', () => {
    expect(createContainer([]).get(PluginRegistry).names()).toEqual([]);
  });
});
