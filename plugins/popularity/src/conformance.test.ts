import { describePluginConformance } from '@cascade-lab/evaluation/testing';
import { popularityPlugin } from './plugin.js';

// The contract checks of core's kit plus the metric-key check (train.usersSeen is declared by the plugin).
describePluginConformance(popularityPlugin);
