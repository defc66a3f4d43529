/**
 * @cascade-lab/tools: nx generators of this workspace. `npx nx g @cascade-lab/tools:plugin <name>
 * --task microscopic|macroscopic` (generators.json) runs `pluginGenerator`.
 */
export { pluginGenerator, registerInRunner, templateNames, RUNNER, type PluginGeneratorSchema } from './generators/plugin/generator.js';
