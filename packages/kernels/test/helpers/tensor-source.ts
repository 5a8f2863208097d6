import type { HostTensor } from '../../src/host-tensor.ts';
import type { TensorSource } from '../../src/models/weight-reader.ts';

/** An in-memory checkpoint, for tests that build weights in code. */
export function mapSource(weights: Map<string, HostTensor>, file = 'memory.safetensors'): TensorSource {
  return {
    file,
    shapes: new Map([...weights].map(([k, v]) => [k, v.shape])),
    read: (name) => Float32Array.from(weights.get(name)!.data),
  };
}
