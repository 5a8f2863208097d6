import type { BindingKind, KernelSpec, OverrideConstants } from './kernel-spec.ts';

export interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

const VISIBILITY_COMPUTE = 0x4;

function bufferType(kind: BindingKind): GPUBufferBindingType {
  if (kind === 'uniform') return 'uniform';
  return kind === 'read' ? 'read-only-storage' : 'storage';
}

/**
 * Pipelines keyed by kernel name + override constants. Shapes are passed as uniforms,
 * not baked in, so one pipeline serves every batch size and sequence length; only
 * choices that change the code path (activation, bias, tile size) are overrides.
 */
export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  private readonly pipelines = new Map<string, CachedPipeline>();

  constructor(private readonly device: GPUDevice) {}

  get(spec: KernelSpec, constants: OverrideConstants = {}): CachedPipeline {
    const key = `${spec.name}|${JSON.stringify(constants)}`;
    const hit = this.pipelines.get(key);
    if (hit) return hit;

    let module = this.modules.get(spec.name);
    if (!module) {
      module = this.device.createShaderModule({ code: spec.code, label: spec.name });
      this.modules.set(spec.name, module);
    }
    const layoutKey = spec.bindings.join(',');
    let layout = this.layouts.get(layoutKey);
    if (!layout) {
      layout = this.device.createBindGroupLayout({
        label: layoutKey,
        entries: spec.bindings.map((kind, binding) => ({
          binding,
          visibility: VISIBILITY_COMPUTE,
          buffer: { type: bufferType(kind) },
        })),
      });
      this.layouts.set(layoutKey, layout);
    }
    const constantValues: Record<string, number> = {};
    for (const [name, value] of Object.entries(constants)) constantValues[name] = Number(value);
    const pipeline = this.device.createComputePipeline({
      label: key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main', constants: constantValues },
    });
    const entry = { pipeline, layout };
    this.pipelines.set(key, entry);
    return entry;
  }

  get size(): number {
    return this.pipelines.size;
  }
}
