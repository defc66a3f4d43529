/**
 * @cascade-lab/tools: nx generators of this workspace. `npx nx g @cascade-lab/tools:plugin <name>
 * --template neural-next-user|network-simulation|closed-form-size` (generators.json) runs `pluginGenerator`.
 */
export { pluginGenerator, registerInRunner, templateNames, RUNNER, TEMPLATES, TEMPLATE_NAMES, type PluginGeneratorSchema, type TemplateName } from './generators/plugin/generator.js';
