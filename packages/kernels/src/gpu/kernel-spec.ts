/**
 * What the engine needs to know about a WGSL kernel, read from the WGSL itself so that each
 * fact is written once: its bindings in order (@group(0) @binding(i)), each with its name
 * and access, and the fields of its uniform `struct Params`. Layouts are explicit rather
 * than 'auto' so a binding that an override constant switches off still has a slot.
 */
export type BindingKind = 'uniform' | 'read' | 'write';

/** One field of a kernel's uniform struct; every field is a 4-byte scalar. */
export interface ParamField {
  name: string;
  type: 'u32' | 'i32' | 'f32';
}

export interface KernelSpec {
  name: string;
  code: string;
  /** Binding kinds in binding order. */
  bindings: readonly BindingKind[];
  /** The WGSL variable name of each binding, in binding order: what ops bind by. */
  bindingNames: readonly string[];
  /** The uniform struct's fields in order (empty without one): what ops fill by name. */
  params: readonly ParamField[];
}

export type OverrideConstants = Record<string, number | boolean>;

const BINDING = /@group\(0\)\s*@binding\((\d+)\)\s*var<\s*(uniform|storage\s*,\s*(read|read_write))\s*>\s*(\w+)\s*:/g;
const PARAMS_STRUCT = /struct\s+Params\s*\{([^}]*)\}/;
const FIELD = /^\s*(\w+)\s*:\s*(u32|i32|f32)\s*,?\s*(\/\/.*)?$/;

/**
 * A kernel from its WGSL: bindings must be numbered 0, 1, 2, ... in the order written, the
 * uniform (if any) first; `struct Params` may hold u32, i32 and f32 fields only, which
 * keeps the packing at 4 bytes a field with no padding.
 */
export function defineKernel(name: string, code: string): KernelSpec {
  const bindings: BindingKind[] = [];
  const bindingNames: string[] = [];
  for (const [, index, kind, access, variable] of code.matchAll(BINDING)) {
    if (Number(index) !== bindings.length) throw new Error(`${name}: binding ${index} follows binding ${bindings.length - 1}; number them in order`);
    bindings.push(kind === 'uniform' ? 'uniform' : access === 'read' ? 'read' : 'write');
    bindingNames.push(variable!);
  }
  if (bindings.indexOf('uniform') > 0) throw new Error(`${name}: the uniform must be binding 0`);
  const params: ParamField[] = [];
  const struct = PARAMS_STRUCT.exec(code);
  if (struct) {
    for (const line of struct[1]!.split('\n')) {
      if (line.trim() === '' || line.trim().startsWith('//')) continue;
      const field = FIELD.exec(line);
      if (!field) throw new Error(`${name}: struct Params field "${line.trim()}" is not a u32, i32 or f32`);
      params.push({ name: field[1]!, type: field[2] as ParamField['type'] });
    }
  }
  if ((bindings[0] === 'uniform') !== (params.length > 0)) throw new Error(`${name}: a uniform binding needs a struct Params, and the reverse`);
  return { name, code, bindings, bindingNames, params };
}
