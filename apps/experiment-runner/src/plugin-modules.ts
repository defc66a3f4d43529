import type { ContainerModule } from 'inversify';
import { popularityModule } from '@cascade-lab/plugin-popularity';
import { gammaCasModule } from '@cascade-lab/plugin-gammacas';
import { ndmModule } from '@cascade-lab/plugin-ndm';
import { seismicModule } from '@cascade-lab/plugin-seismic';
import { hawkesModule } from '@cascade-lab/plugin-hawkes';
import { netrateModule } from '@cascade-lab/plugin-netrate';
import { infopathModule } from '@cascade-lab/plugin-infopath';
import { embeddedIcModule } from '@cascade-lab/plugin-embedded-ic';
import { deepcasModule } from '@cascade-lab/plugin-deepcas';
import { lstmModule } from '@cascade-lab/plugin-lstm';
import { meanLogGrowthModule } from '@cascade-lab/plugin-mean-log-growth';

/**
 * The model plugins this runner ships with. Each plugin package exports one ContainerModule; the
 * plugin generator (`nx g @cascade-lab/tools:plugin`) appends new ones here.
 */
export const pluginModules: ContainerModule[] = [popularityModule, gammaCasModule, ndmModule, seismicModule, hawkesModule, netrateModule, infopathModule, embeddedIcModule, deepcasModule, lstmModule, meanLogGrowthModule];
