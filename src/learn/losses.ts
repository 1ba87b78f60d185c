import * as tf from '@tensorflow/tfjs';

/**
 * Symmetric InfoNCE (CLIP's loss): row i of `a` and row i of `b` are the same patient or record, every
 * other row of the batch is a negative; the mean of the a->b and b->a cross-entropies. Rows unit length.
 */
export function infoNce(a: tf.Tensor2D, b: tf.Tensor2D, temperature: number): tf.Scalar {
  const n = a.shape[0];
  const logits = tf.div(tf.matMul(a, b, false, true), temperature);
  const eye = tf.eye(n);
  const ab = tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits, 1), eye), 1)));
  const ba = tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(tf.transpose(logits), 1), eye), 1)));
  return tf.div(tf.add(ab, ba), 2) as tf.Scalar;
}

/**
 * Ontology alignment of items (patients or records) to candidate concept embeddings (HPO terms and
 * the "no finding" anchors): a cross-entropy whose target spreads evenly over each item's positives
 * (`targets` is a [N, K] 0/1 matrix, every row with at least one 1), so an item moves towards its
 * terms and away from the other candidates.
 */
export function alignmentLoss(items: tf.Tensor2D, candidates: tf.Tensor2D, targets: Float32Array, temperature: number): tf.Scalar {
  const [n] = items.shape;
  const k = candidates.shape[0];
  const t = new Float32Array(targets);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += t[i * k + j];
    if (s === 0) throw new Error(`alignment: item ${i} has no positive`);
    for (let j = 0; j < k; j++) t[i * k + j] /= s;
  }
  const logits = tf.div(tf.matMul(items, candidates, false, true), temperature);
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits, 1), tf.tensor2d(t, [n, k])), 1))) as tf.Scalar;
}

/** Term-term structure: the mean squared gap between cosine similarity and the ontology's similarity, per pair. */
export function ontologyLoss(left: tf.Tensor2D, right: tf.Tensor2D, target: Float32Array): tf.Scalar {
  const cos = tf.sum(tf.mul(left, right), 1);
  return tf.mean(tf.square(tf.sub(cos, tf.tensor1d(target)))) as tf.Scalar;
}

/**
 * Masked-patch reconstruction: the mean squared error between reconstructed and true patches
 * ([B, T, P]) over the masked tokens only (`mask` [B * T], 1 = masked); visible patches, which the
 * encoder saw, do not count. Each masked patch weighs the same.
 */
export function maskedReconstructionLoss(reconstruction: tf.Tensor3D, patches: tf.Tensor3D, mask: Float32Array): tf.Scalar {
  const [B, T] = reconstruction.shape;
  let masked = 0;
  for (const m of mask) masked += m;
  if (masked === 0) throw new Error('reconstruction: no patch is masked');
  const perPatch = tf.mean(tf.square(tf.sub(reconstruction, patches)), 2);
  return tf.div(tf.sum(tf.mul(perPatch, tf.tensor2d(mask, [B, T]))), masked) as tf.Scalar;
}

/**
 * Masked-variant pretraining: the cross-entropy of each masked token's true gene under its logits
 * over the gene table ([M, G], one row per masked token), averaged over the masked tokens.
 */
export function maskedVariantLoss(logits: tf.Tensor2D, targets: Int32Array): tf.Scalar {
  const [m, g] = logits.shape;
  if (m !== targets.length || m === 0) throw new Error(`masked variants: ${m} logit rows for ${targets.length} targets`);
  const onehot = new Float32Array(m * g);
  targets.forEach((t, i) => (onehot[i * g + t] = 1));
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits, 1), tf.tensor2d(onehot, [m, g])), 1))) as tf.Scalar;
}
