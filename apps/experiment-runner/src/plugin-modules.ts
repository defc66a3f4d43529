import type { ContainerModule } from 'inversify';
import { popularityModule } from '@cascade-lab/plugin-popularity';
import { gammaCasModule } from '@cascade-lab/plugin-gammacas';
import { ndmModule } from '@cascade-lab/plugin-ndm';
import { deepcasModule } from '@cascade-lab/plugin-deepcas';

/**
 * The model plugins this runner ships with. Each plugin package exports one ContainerModule; the
 * plugin generator (`nx g @cascade-lab/tools:plugin`) appends new ones here.
 */
export const pluginModules: ContainerModule[] = [popularityModule, gammaCasModule, ndmModule, deepcasModule];
