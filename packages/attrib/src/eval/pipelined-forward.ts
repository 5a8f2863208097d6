import type { HostTensor, ImageClassifier } from '@moxi/kernels';
import { logProb, topClass } from '../reward.ts';
import { inFlight } from '../in-flight.ts';

/**
 * Forward passes over `rows` images built on the host chunk by chunk: the next chunk is
 * built and its pass submitted while the previous one is still on the GPU (see inFlight).
 * `consume` gets each chunk's top-1 classes and a reader of any class's probability.
 */
export async function forwardInChunks(
  model: ImageClassifier,
  rows: number,
  rowsPerPass: number,
  build: (first: number, last: number) => HostTensor,
  consume: (first: number, top1: number[], probability: (c: number) => number[]) => void,
): Promise<void> {
  const starts = Array.from({ length: Math.ceil(rows / rowsPerPass) }, (_, k) => k * rowsPerPass);
  await inFlight(
    starts,
    (first) => model.forward(build(first, Math.min(rows, first + rowsPerPass))),
    (result, first) => {
      const C = result.classes;
      const logits = (r: number) => result.logits.subarray(r * C, (r + 1) * C);
      const top1 = Array.from({ length: result.rows }, (_, r) => topClass(logits(r)));
      consume(first, top1, (c) => Array.from({ length: result.rows }, (_, r) => Math.exp(logProb(logits(r), c))));
    },
  );
}
