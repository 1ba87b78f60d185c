import * as tf from '@tensorflow/tfjs';

// TensorFlow.js backends, best first. The node ones are optional dependencies that download
// libtensorflow at install time and are often absent, so they are imported dynamically and a failure
// moves on to the next. The wasm backend runs single-threaded in Node (measured); cpu is the last resort.

import { BACKENDS, type BackendName } from './config.js';

export { BACKENDS, type BackendName };

export interface BackendChoice {
  /** Our name: node-gpu, node, wasm or cpu. */
  name: BackendName;
  /** The name tfjs knows the backend by (tensorflow, wasm, cpu). */
  tfBackend: string;
  /** Versions and capabilities, for the model card. */
  details: Record<string, string | number | boolean>;
}

type Attempt = () => Promise<{ tfBackend: string; details: Record<string, string | number | boolean> } | string>;

/** The module names are held in variables so the compiler does not require the optional packages. */
async function importOptional(name: string): Promise<unknown> {
  return import(name);
}

const ATTEMPTS: Record<BackendName, Attempt> = {
  'node-gpu': async () => {
    try {
      await importOptional('@tensorflow/tfjs-node-gpu');
    } catch (e) {
      return `@tensorflow/tfjs-node-gpu is not installed or has no libtensorflow (${firstLine(e)})`;
    }
    if (!(await tf.setBackend('tensorflow'))) return 'the tensorflow (GPU) backend failed to initialise';
    return { tfBackend: 'tensorflow', details: { gpu: true } };
  },
  node: async () => {
    try {
      await importOptional('@tensorflow/tfjs-node');
    } catch (e) {
      return `@tensorflow/tfjs-node is not installed or has no libtensorflow (${firstLine(e)})`;
    }
    if (!(await tf.setBackend('tensorflow'))) return 'the tensorflow backend failed to initialise';
    return { tfBackend: 'tensorflow', details: { gpu: false } };
  },
  wasm: async () => {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
    } catch (e) {
      return `@tensorflow/tfjs-backend-wasm could not be loaded (${firstLine(e)})`;
    }
    // setBackend answers false (while getBackend may still say 'wasm') when the module cannot start.
    if (!(await tf.setBackend('wasm'))) return 'the wasm backend failed to initialise';
    await tf.ready();
    const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    const threads = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
    return { tfBackend: 'wasm', details: { simd, multithread: threads } };
  },
  cpu: async () => {
    if (!(await tf.setBackend('cpu'))) return 'the cpu backend failed to initialise';
    return { tfBackend: 'cpu', details: {} };
  },
};

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0].slice(0, 160);
}

/**
 * Selects a backend: the one requested (an error naming why when it is unavailable), or the first that
 * works of node-gpu, node, wasm, cpu. Each skipped backend and the choice are logged.
 */
export async function chooseBackend(requested?: string, log: (line: string) => void = (l) => process.stderr.write(l + '\n')): Promise<BackendChoice> {
  if (requested !== undefined && !(BACKENDS as readonly string[]).includes(requested)) {
    throw new Error(`--backend ${requested}: expected one of ${BACKENDS.join(', ')}`);
  }
  const order: BackendName[] = requested ? [requested as BackendName] : [...BACKENDS];
  for (const name of order) {
    const result = await ATTEMPTS[name]();
    if (typeof result === 'string') {
      if (requested) throw new Error(`--backend ${name}: not available: ${result}`);
      log(`learn: backend ${name} skipped: ${result}`);
      continue;
    }
    const details = { ...result.details, tfjs: tf.version.tfjs };
    log(`learn: backend ${name} (tfjs ${tf.version.tfjs}${Object.entries(result.details).map(([k, v]) => `, ${k} ${v}`).join('')})`);
    return { name, tfBackend: result.tfBackend, details };
  }
  throw new Error('no TensorFlow.js backend could be initialised');
}
