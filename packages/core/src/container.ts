import 'reflect-metadata';
import { Container, ContainerModule } from 'inversify';
import { CascadeError } from './errors.js';
import type { ModelPlugin, Task } from './plugin.js';
import { didYouMean } from './text.js';

/** DI tokens shared by the runner, the packages and every plugin. */
export const TOKENS = {
  /** Multi-bound: every plugin module binds its ModelPlugin here. */
  ModelPlugin: Symbol.for('cascade-lab.ModelPlugin'),
  PluginRegistry: Symbol.for('cascade-lab.PluginRegistry'),
  Logger: Symbol.for('cascade-lab.Logger'),
  Progress: Symbol.for('cascade-lab.Progress'),
} as const;

/** Wraps a plugin object as the ContainerModule a plugin package exports. */
export function pluginModule(plugin: ModelPlugin): ContainerModule {
  return new ContainerModule((options) => {
    options.bind<ModelPlugin>(TOKENS.ModelPlugin).toConstantValue(plugin);
  });
}

/** Finds plugins by name among everything bound under `TOKENS.ModelPlugin`. */
export class PluginRegistry {
  private readonly byName = new Map<string, ModelPlugin>();

  constructor(plugins: ModelPlugin[]) {
    for (const p of plugins) {
      if (this.byName.has(p.name)) throw new CascadeError('INTERNAL', `two plugins are registered under the name "${p.name}"`);
      this.byName.set(p.name, p);
    }
  }

  static fromContainer(container: Container): PluginRegistry {
    const plugins = container.isBound(TOKENS.ModelPlugin) ? container.getAll<ModelPlugin>(TOKENS.ModelPlugin) : [];
    return new PluginRegistry(plugins);
  }

  names(task?: Task): string[] {
    return [...this.byName.values()].filter((p) => !task || p.task === task).map((p) => p.name).sort();
  }

  list(task?: Task): ModelPlugin[] {
    return this.names(task).map((n) => this.byName.get(n)!);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The plugin called `name`; an unknown name fails with the known ones and a likely typo fix. */
  get(name: string): ModelPlugin {
    const p = this.byName.get(name);
    if (p) return p;
    const known = this.names();
    const guess = didYouMean(name, known);
    throw new CascadeError('UNKNOWN_MODEL', `unknown model "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}; known models: ${known.join(', ') || '(none registered)'}`, {
      hint: 'run `cascade plugins` to see every model with its hyperparameters',
    });
  }
}

/** Builds the application container from plugin modules (and any extra service modules). */
export function createContainer(modules: ContainerModule[]): Container {
  const container = new Container();
  container.loadSync(...modules);
  container.bind(PluginRegistry).toDynamicValue(() => PluginRegistry.fromContainer(container)).inSingletonScope();
  container.bind(TOKENS.PluginRegistry).toService(PluginRegistry);
  return container;
}
