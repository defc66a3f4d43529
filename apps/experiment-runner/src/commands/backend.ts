import type { CommandModule } from 'yargs';
import pc from 'picocolors';
import { BACKEND_PREFERENCES, initBackend, tf, type BackendPreference, type BackendSelection, type CandidateStatus } from '@cascade-lab/tensor-ops';
import { loggerFor, type GlobalOptions } from '../global-options.js';

interface BackendArgs extends Partial<GlobalOptions> {
  backend: BackendPreference;
  json: boolean;
}

const STATUS_TEXT: Record<CandidateStatus, string> = {
  loaded: 'loaded',
  available: 'available',
  'not-installed': 'not installed',
  failed: 'failed',
  'not-tried': 'not tried',
};

function colour(status: CandidateStatus, text: string): string {
  if (status === 'loaded') return pc.green(text);
  if (status === 'failed') return pc.red(text);
  if (status === 'available') return pc.cyan(text);
  return pc.dim(text);
}

/** 2x2 matmul on the chosen backend: [[1,2],[3,4]] x [[5,6],[7,8]] = [[19,22],[43,50]]. */
function matmulCheck(): boolean {
  const got = tf.tidy(() => Array.from(tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]])).dataSync()));
  return [19, 22, 43, 50].every((v, i) => got[i] === v);
}

function printTable(sel: BackendSelection, matmulOk: boolean): void {
  const out = (line = '') => process.stdout.write(line + '\n');
  const what = sel.preference === 'auto' ? '`auto` picks' : `--backend ${sel.preference} gives`;
  const lib = sel.libtensorflowVersion ? `, libtensorflow ${sel.libtensorflowVersion}` : '';
  out(`${what}: ${pc.bold(sel.name)} (${sel.package} ${sel.version}${lib}) on ${pc.bold(sel.device)}; 2x2 matmul ${matmulOk ? 'ok' : pc.red('WRONG')}`);
  if (sel.gpu) out(`gpu: ${sel.gpu.found ? 'found' : 'not used'} (${sel.gpu.detail})`);
  out();
  const rows = sel.candidates.map((c) => [c.package, c.backend, STATUS_TEXT[c.status], c.version ?? '-', c.reason, c.status] as const);
  const width = (i: number, title: string) => Math.max(title.length, ...rows.map((r) => r[i].length));
  const w = [width(0, 'candidate'), width(1, 'backend'), width(2, 'status'), width(3, 'version')];
  out(pc.dim(`${'candidate'.padEnd(w[0])}  ${'backend'.padEnd(w[1])}  ${'status'.padEnd(w[2])}  ${'version'.padEnd(w[3])}  why`));
  for (const r of rows) out(`${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${colour(r[5], r[2].padEnd(w[2]))}  ${r[3].padEnd(w[3])}  ${r[4]}`);
  for (const n of sel.notes) out(`${pc.yellow('note:')} ${n}`);
  out(pc.dim(`tfjs-core ${sel.tfjsCoreVersion}`));
}

export const backendCommand: CommandModule<object, BackendArgs> = {
  command: 'backend',
  describe: 'Show the TensorFlow.js backend `auto` picks on this machine and why (each candidate: loaded, not installed, or failed with the reason)',
  builder: (y) =>
    y
      .option('backend', { alias: 'b', choices: BACKEND_PREFERENCES, default: 'auto' as BackendPreference, describe: 'force one backend; fails (exit 5) when it cannot load' })
      .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
      .example('$0 backend', 'what auto picks here')
      .example('$0 backend --backend tensorflow', 'check the native backend (after tools/native-backend/setup.sh)'),
  handler: async (args) => {
    const sel = await initBackend(args.backend, { logger: loggerFor({ ...args, quiet: true }), probeAll: true });
    const matmulOk = matmulCheck();
    if (args.json) {
      process.stdout.write(JSON.stringify({ ...sel, matmulOk }, null, 2) + '\n');
      return;
    }
    printTable(sel, matmulOk);
  },
};
