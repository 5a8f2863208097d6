/**
 * The CPU peer: onnxruntime-node's native CPU execution provider on the same ONNX graph,
 * with one intra-op thread per core of this machine (what a user of its default gets).
 */
import { availableParallelism } from 'node:os';
import * as ortNode from 'onnxruntime-node';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from './onnx-graph-builder.ts';

export const ortNodeVersion: string = ortNode.env.versions.node ?? 'unknown';

export interface CpuPeer {
  run(input: Float32Array, shape: readonly number[]): Promise<Float32Array>;
  threads: number;
  release(): Promise<void>;
}

export async function createOrtCpuSession(modelBytes: Uint8Array): Promise<CpuPeer> {
  const threads = availableParallelism();
  const session = await ortNode.InferenceSession.create(modelBytes, { executionProviders: ['cpu'], intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
  return {
    threads,
    run: async (input, shape) => {
      const results = await session.run({ [ONNX_INPUT_NAME]: new ortNode.Tensor('float32', input, [...shape]) });
      const logits = results[ONNX_OUTPUT_NAME];
      if (!logits || !(logits.data instanceof Float32Array)) throw new Error(`onnxruntime-node produced no float32 "${ONNX_OUTPUT_NAME}"`);
      return logits.data;
    },
    release: () => session.release(),
  };
}
