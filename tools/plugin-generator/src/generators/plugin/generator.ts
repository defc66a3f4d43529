import { fileURLToPath } from 'node:url';
import { generateFiles, installPackagesTask, names, updateJson, type GeneratorCallback, type Tree } from '@nx/devkit';

export interface PluginGeneratorSchema {
  /** Plugin name as used in configs (`model.name`): lower-case letters, digits and dashes. */
  name: string;
  /** Which starter model (see TEMPLATES); it fixes the task. */
  template: TemplateName;
  /** One sentence for `cascade plugins`. */
  description?: string;
  /** Skip `npm install` afterwards (tests; it only links the new package into node_modules). */
  skipInstall?: boolean;
}

/** Where the runner lists its plugins; the generator appends to it. */
export const RUNNER = {
  dir: 'apps/experiment-runner',
  pluginModules: 'apps/experiment-runner/src/plugin-modules.ts',
  packageJson: 'apps/experiment-runner/package.json',
  tsconfig: 'apps/experiment-runner/tsconfig.json',
} as const;

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * The starter models: each a complete, working plugin of one kind, for the author to replace with
 * their model. `task` is what the template's plugin predicts.
 */
export const TEMPLATES = {
  'neural-next-user': {
    task: 'microscopic',
    description: 'Neural next-user baseline: a user embedding and a GRU read the infected users in order; a softmax over the users not yet infected gives the next one. Trained with the shared fit loop and Adam.',
  },
  'network-simulation': {
    task: 'microscopic',
    description: 'Independent-cascade baseline: pairwise transmission probabilities estimated from the training cascades by credit-weighted frequencies; predicts by independent-cascade simulation.',
  },
  'closed-form-size': {
    task: 'macroscopic',
    description: 'Log-linear growth baseline: log size grows linearly in log time after the observation window, with an exponent linear in window features, fitted in closed form by least squares.',
  },
} as const satisfies Record<string, { task: 'microscopic' | 'macroscopic'; description: string }>;
export type TemplateName = keyof typeof TEMPLATES;
export const TEMPLATE_NAMES = Object.keys(TEMPLATES) as TemplateName[];

/** The names a template needs: `embedded-ic` -> EmbeddedIc / embeddedIc. */
export function templateNames(name: string) {
  const n = names(name);
  return { name, className: n.className, propertyName: n.propertyName, packageName: `@cascade-lab/plugin-${name}` };
}

function templatesDir(part: string): string {
  // The templates live next to src/ and dist/ (tools/plugin-generator/files/), so the generator
  // finds them whether it runs compiled or from its sources.
  return fileURLToPath(new URL(`../../../files/${part}`, import.meta.url));
}

/**
 * `nx g @cascade-lab/tools:plugin <name> --template neural-next-user|network-simulation|closed-form-size`: a new plugin in
 * plugins/<name> in the standard layout (package.json, README.md, tsconfig.json, jest.config.cjs,
 * src/index.ts, src/plugin.ts, src/model.ts, src/plugin.test.ts with the conformance kit), holding a
 * real minimal model of the chosen kind (TEMPLATES); registered in the runner (plugin-modules.ts, the runner's
 * dependencies and project references, tsconfig.build.json); and configs/experiments/<name>-example.yaml.
 */
export async function pluginGenerator(tree: Tree, options: PluginGeneratorSchema): Promise<GeneratorCallback> {
  const { name, template } = options;
  if (!NAME.test(name)) throw new Error(`plugin name "${name}": use lower-case letters, digits and dashes, starting with a letter (e.g. embedded-ic)`);
  if (!Object.hasOwn(TEMPLATES, template)) throw new Error(`--template must be one of ${TEMPLATE_NAMES.join(', ')}, got "${String(template)}"`);
  const { task } = TEMPLATES[template];
  const root = `plugins/${name}`;
  if (tree.exists(root)) throw new Error(`${root} already exists`);
  for (const f of [RUNNER.pluginModules, RUNNER.packageJson, RUNNER.tsconfig, 'tsconfig.build.json'])
    if (!tree.exists(f)) throw new Error(`${f} not found: run the generator at the root of the cascade-lab workspace`);
  const t = templateNames(name);
  const description = options.description?.trim() || TEMPLATES[template].description;
  const substitutions = { ...t, task, template, description, descriptionJson: JSON.stringify(description), tmpl: '' };

  generateFiles(tree, templatesDir(template), root, substitutions);
  generateFiles(tree, templatesDir('config'), 'configs/experiments', substitutions);

  registerInRunner(tree, t);
  updateJson(tree, RUNNER.packageJson, (pkg) => {
    pkg.dependencies = { ...pkg.dependencies, [t.packageName]: '0.1.0' };
    return pkg;
  });
  updateJson(tree, RUNNER.tsconfig, (cfg) => {
    cfg.references = [...(cfg.references ?? []), { path: `../../${root}` }];
    return cfg;
  });
  updateJson(tree, 'tsconfig.build.json', (cfg) => {
    const refs: { path: string }[] = cfg.references ?? [];
    // Before the runner, which depends on it.
    const at = refs.findIndex((r) => r.path === RUNNER.dir);
    refs.splice(at < 0 ? refs.length : at, 0, { path: root });
    cfg.references = refs;
    return cfg;
  });

  return () => {
    if (!options.skipInstall) installPackagesTask(tree, true);
  };
}

/** Adds the plugin's module to the runner's list (one import, one array entry). */
export function registerInRunner(tree: Tree, t: ReturnType<typeof templateNames>): void {
  const file = RUNNER.pluginModules;
  const source = tree.read(file, 'utf-8')!;
  const moduleName = `${t.propertyName}Module`;
  if (source.includes(`'${t.packageName}'`)) throw new Error(`${file} already imports ${t.packageName}`);
  const imports = [...source.matchAll(/^import .* from '[^']+';$/gm)];
  const list = /(export const pluginModules: ContainerModule\[\] = \[)([^\]]*)(\];)/.exec(source);
  if (imports.length === 0 || !list) throw new Error(`${file} does not have the expected shape (imports, then \`export const pluginModules: ContainerModule[] = [...];\`): add \`${moduleName}\` from '${t.packageName}' by hand`);
  const last = imports[imports.length - 1];
  const afterImports = last.index! + last[0].length;
  const entries = list[2].trim();
  const withImport = `${source.slice(0, afterImports)}\nimport { ${moduleName} } from '${t.packageName}';${source.slice(afterImports)}`;
  const updated = withImport.replace(list[0], `${list[1]}${entries ? `${entries.replace(/,\s*$/, '')}, ` : ''}${moduleName}${list[3]}`);
  tree.write(file, updated);
}

export default pluginGenerator;
