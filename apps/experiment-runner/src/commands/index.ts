import type { CommandModule } from 'yargs';
import { pluginsCommand } from './plugins.js';
import { validateCommand } from './validate.js';
import { runCommand } from './run.js';
import { evaluateCommand } from './evaluate.js';
import { datasetsCommand } from './datasets.js';
import { backendCommand } from './backend.js';
import { sweepCommand } from './sweep.js';
import { reportCommand } from './report.js';
import { mlflowCommand } from './mlflow.js';
import { runsCommand } from './runs.js';
import { compareCommand } from './compare.js';
import { workerCommand } from './worker.js';
import { queueCommand } from './queue.js';

/**
 * Every `cascade` sub-command. Each lives in its own file in this folder and exports one yargs
 * CommandModule; add new ones to this list (one import, one entry).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [runCommand, evaluateCommand, pluginsCommand, validateCommand, datasetsCommand, backendCommand, sweepCommand, mlflowCommand, runsCommand, reportCommand, compareCommand];
// Distributed sweeps on a Redis job queue (issue 20).
commands.push(workerCommand, queueCommand);
