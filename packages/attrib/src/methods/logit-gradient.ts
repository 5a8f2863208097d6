import type { OutputGradient } from '@moxi/kernels';

/**
 * dL/dlogits for L = the sum over rows of z_target: one-hot on the target in every row, so
 * each image of a gradient pass gets the gradient of its own target logit (Grad-CAM,
 * Chefer's relevance and the input-gradient methods all explain the logit).
 */
export function targetLogitGradient(target: number): OutputGradient {
  return (_, rows, classes) => {
    const oneHot = new Float32Array(rows * classes);
    for (let r = 0; r < rows; r++) oneHot[r * classes + target] = 1;
    return oneHot;
  };
}
