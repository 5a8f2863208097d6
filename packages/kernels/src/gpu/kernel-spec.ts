/**
 * What the engine needs to know about a WGSL kernel, read from the WGSL itself so that each
 * fact is written once: its bindings in order (@group(0) @binding(i)), each with its name
 * and access, the fields of its uniform `struct Params`, its entry point's
 * @workgroup_size, and its module-scope integer consts (what one invocation covers, which
 * ops size their launches by). Layouts are explicit rather than 'auto' so a binding that
 * an override constant switches off still has a slot.
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
  /** The entry point's @workgroup_size, x, y, z (unwritten dimensions are 1); see workgroupSize(). */
  workgroupSize: readonly [WorkgroupDimension, WorkgroupDimension, WorkgroupDimension];
  /** Module-scope `const`s with an integer literal value (ROWS, COLS, ...), by name; see kernelConst(). */
  consts: Readonly<Record<string, number>>;
}

/**
 * One dimension of a workgroup size: a number, or an override constant that each pipeline
 * may set (its default, when the WGSL gives one, applies otherwise).
 */
export type WorkgroupDimension = number | { override: string; default: number | undefined };

export type OverrideConstants = Record<string, number | boolean>;

const BINDING = /@group\(0\)\s*@binding\((\d+)\)\s*var<\s*(uniform|storage\s*,\s*(read|read_write))\s*>\s*(\w+)\s*:/g;
const PARAMS_STRUCT = /struct\s+Params\s*\{([^}]*)\}/;
const FIELD = /^\s*(\w+)\s*:\s*(u32|i32|f32)\s*,?\s*(\/\/.*)?$/;
const WORKGROUP_SIZE = /@workgroup_size\s*\(([^)]*)\)/g;
// Module scope is where the shaders start a line with the keyword; function bodies are indented.
const MODULE_SCALAR = /^(const|override)\s+(\w+)\s*(?::\s*\w+\s*)?(?:=\s*([^;]*?)\s*)?;/gm;
const INTEGER_LITERAL = /^(0[xX][0-9a-fA-F]+|\d+)[ui]?$/;

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
  const { consts, overrides } = moduleScalars(code);
  return { name, code, bindings, bindingNames, params, workgroupSize: parseWorkgroupSize(name, code, consts, overrides), consts };
}

/** An integer literal's value (`16`, `16u`, `0x10u`), or undefined for anything else. */
function integerLiteral(text: string): number | undefined {
  return INTEGER_LITERAL.test(text) ? Number.parseInt(text.replace(/[ui]$/, ''), text.startsWith('0x') || text.startsWith('0X') ? 16 : 10) : undefined;
}

/** The module-scope consts with integer values, and every override with its default (if an integer literal). */
function moduleScalars(code: string): { consts: Record<string, number>; overrides: Map<string, number | undefined> } {
  const consts: Record<string, number> = {};
  const overrides = new Map<string, number | undefined>();
  for (const [, keyword, scalar, value] of code.matchAll(MODULE_SCALAR)) {
    const literal = value === undefined ? undefined : integerLiteral(value);
    if (keyword === 'override') overrides.set(scalar!, literal);
    else if (literal !== undefined) consts[scalar!] = literal;
  }
  return { consts, overrides };
}

/**
 * The entry point's @workgroup_size: each of its one to three arguments an integer literal,
 * a module-scope const, or an override (resolved per pipeline by workgroupSize()).
 */
function parseWorkgroupSize(name: string, code: string, consts: Record<string, number>, overrides: Map<string, number | undefined>): KernelSpec['workgroupSize'] {
  const found = [...code.matchAll(WORKGROUP_SIZE)];
  if (found.length === 0) throw new Error(`${name}: no @workgroup_size on its entry point; the engine sizes launches by it`);
  if (found.length > 1) throw new Error(`${name}: ${found.length} @workgroup_size attributes; a kernel has one entry point`);
  const args = found[0]![1]!.split(',').map((a) => a.trim());
  if (args.at(-1) === '') args.pop(); // WGSL allows a trailing comma
  if (args.length < 1 || args.length > 3) throw new Error(`${name}: @workgroup_size(${found[0]![1]}) needs one to three sizes`);
  const dimensions = args.map((arg): WorkgroupDimension => {
    const value = integerLiteral(arg) ?? (Object.hasOwn(consts, arg) ? consts[arg] : undefined);
    if (value !== undefined) {
      if (value < 1) throw new Error(`${name}: @workgroup_size has a size of ${value}; sizes are at least 1`);
      return value;
    }
    if (overrides.has(arg)) return { override: arg, default: overrides.get(arg) };
    throw new Error(`${name}: @workgroup_size argument "${arg}" is not an integer literal, a module-scope const or an override`);
  });
  return [dimensions[0]!, dimensions[1] ?? 1, dimensions[2] ?? 1];
}

/**
 * The workgroup size of `spec`'s pipeline built with `constants`: an override dimension
 * takes the value given there, else its default.
 */
export function workgroupSize(spec: KernelSpec, constants: OverrideConstants = {}): [number, number, number] {
  const [x, y, z] = spec.workgroupSize.map((dimension) => {
    if (typeof dimension === 'number') return dimension;
    const value = constants[dimension.override] ?? dimension.default;
    if (value === undefined) throw new Error(`${spec.name}: override ${dimension.override} sizes the workgroup and has no default; set it in the dispatch's constants`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new Error(`${spec.name}: override ${dimension.override} = ${String(value)} is not a workgroup size`);
    return value;
  });
  return [x!, y!, z!];
}

/** A module-scope integer const of the kernel's WGSL (what one invocation covers, a tile's size). */
export function kernelConst(spec: KernelSpec, constName: string): number {
  const value = Object.hasOwn(spec.consts, constName) ? spec.consts[constName] : undefined;
  if (value === undefined) throw new Error(`${spec.name}: no module-scope const ${constName} with an integer value`);
  return value;
}
