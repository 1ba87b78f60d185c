import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic } from '../store/index.js';
import type { Model } from './model.js';

// Weights on disk: `<tag>.json` lists each tensor's name, shape and offset into `<tag>.bin`
// (little-endian float32, concatenated). Optimizer state is saved the same way for --resume.

interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
  dtype: 'float32';
}

async function writeTensors(dir: string, tag: string, tensors: { name: string; tensor: tf.Tensor }[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const entries: TensorEntry[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const { name, tensor } of tensors) {
    const data = Float32Array.from(await tensor.data());
    entries.push({ name, shape: tensor.shape, offset, dtype: 'float32' });
    chunks.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    offset += data.byteLength;
  }
  // The data file first, then the index that names it: a crash in between leaves the old index valid
  // only if sizes match, so the index also records the total.
  writeAtomic(join(dir, `${tag}.bin`), chunks);
  writeAtomic(join(dir, `${tag}.json`), [JSON.stringify({ bytes: offset, tensors: entries })]);
}

function readTensors(dir: string, tag: string): { name: string; shape: number[]; values: Float32Array }[] {
  const index = JSON.parse(readFileSync(join(dir, `${tag}.json`), 'utf8')) as { bytes: number; tensors: TensorEntry[] };
  const buf = readFileSync(join(dir, `${tag}.bin`));
  if (buf.length !== index.bytes) throw new Error(`${join(dir, `${tag}.bin`)}: ${buf.length} bytes, its index says ${index.bytes}`);
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  return index.tensors.map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    return { name: t.name, shape: t.shape, values: all.subarray(t.offset / 4, t.offset / 4 + n) };
  });
}

export function hasCheckpoint(dir: string, tag: string): boolean {
  return existsSync(join(dir, `${tag}.json`)) && existsSync(join(dir, `${tag}.bin`));
}

export async function saveWeights(model: Model, dir: string, tag: string): Promise<void> {
  await writeTensors(dir, tag, [...model.vars].map(([name, tensor]) => ({ name, tensor })));
}

/** Loads weights saved from a model of the same configuration; a missing or misshapen weight is an error. */
export function loadWeights(model: Model, dir: string, tag: string): void {
  const saved = new Map(readTensors(dir, tag).map((t) => [t.name, t]));
  for (const [name, v] of model.vars) {
    const t = saved.get(name);
    if (!t) throw new Error(`${join(dir, `${tag}.json`)}: no weight ${name}: the checkpoint is of another configuration`);
    if (t.shape.join('x') !== v.shape.join('x')) throw new Error(`${join(dir, `${tag}.json`)}: weight ${name} is ${t.shape.join('x')}, the model's is ${v.shape.join('x')}`);
    v.assign(tf.tensor(t.values, t.shape, 'float32'));
  }
}

/** Optimizer slots are named after the variables; the model's process-local prefix is stripped on disk. */
export async function saveOptimizer(optimizer: tf.Optimizer, model: Model, dir: string, tag: string): Promise<void> {
  const weights = await optimizer.getWeights();
  await writeTensors(dir, tag, weights.map((w) => ({ name: w.name.replace(`${model.prefix}/`, ''), tensor: w.tensor })));
}

export async function loadOptimizer(optimizer: tf.Optimizer, model: Model, dir: string, tag: string): Promise<void> {
  const saved = readTensors(dir, tag);
  await optimizer.setWeights(saved.map((t) => ({ name: t.name === 'iter' ? t.name : `${model.prefix}/${t.name}`, tensor: tf.tensor(t.values, t.shape, 'float32') })));
}
