/**
 * What the engine needs to know about a WGSL kernel: its source and the kind of each
 * binding, in binding order (@group(0) @binding(i)). Layouts are explicit rather than
 * 'auto' so a binding that an override constant switches off still has a slot.
 */
export type BindingKind = 'uniform' | 'read' | 'write';

export interface KernelSpec {
  name: string;
  code: string;
  bindings: readonly BindingKind[];
}

export type OverrideConstants = Record<string, number | boolean>;
