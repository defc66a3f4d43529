import { describePluginConformance } from '@cascade-lab/core/testing';
import { popularityPlugin } from './index.js';

// The plugin contract (core's conformance kit) on its tiny microscopic dataset; popularity is a
// parameter-only model saved through core's model.json helper.
describePluginConformance(popularityPlugin, { hyperparameters: { smoothing: 0.5 } });
