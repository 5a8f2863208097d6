import type { GpuEngine } from '../gpu/engine.ts';
import type { GpuTensor } from '../gpu/gpu-tensor.ts';

/**
 * An input batch uploaded once for many forward passes (an explanation evaluates
 * thousands of coalitions of one image), with a place for what a model can compute from
 * the images alone and reuse across passes: a ViT's patch embeddings.
 */
export class PreparedInput {
  private readonly cache = new Map<string, GpuTensor>();

  constructor(
    readonly images: GpuTensor,
    private readonly engine: GpuEngine,
  ) {}

  cached(key: string, compute: () => GpuTensor): GpuTensor {
    let value = this.cache.get(key);
    if (!value) {
      value = compute();
      this.cache.set(key, value);
    }
    return value;
  }

  release(): void {
    this.engine.release(this.images, ...this.cache.values());
    this.cache.clear();
  }
}
