import * as tf from '@tensorflow/tfjs';

/**
 * Rows of `table` at `indices`, with a scatter-based gradient. tf.gather's own gradient needs the
 * UnsortedSegmentSum kernel, which the wasm backend lacks, and on the cpu backend it grew past 24 GB
 * on an 18,000-row table (measured); scatterND of the upstream gradient at the looked-up rows sums
 * duplicate indices, which is exactly the gradient of a lookup.
 */
export function lookup(table: tf.Tensor2D, indices: tf.Tensor1D): tf.Tensor2D {
  const [rows, dim] = table.shape;
  // The indices are an input saved for the backward pass (a tensor only closed over would already be
  // disposed by then); their own gradient is zero.
  const f = tf.customGrad((...inputs) => {
    const [t, idx, save] = inputs as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([idx]);
    return {
      value: tf.gather(t, idx) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => [tf.scatterND(tf.expandDims(saved[0], 1), dy, [rows, dim]), tf.zerosLike(saved[0])],
    };
  });
  return f(table, indices);
}
