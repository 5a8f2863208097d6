import { GpuTensor } from './gpu-tensor.ts';

/**
 * Ownership of a forward pass's intermediates, so that a model says what it keeps instead
 * of releasing every other tensor by hand. While a scope is open (GpuEngine.scope), each
 * working tensor the engine makes (empty, upload; not persistent weights) belongs to the
 * innermost one; when the callback returns, the scope frees what it owns except the
 * tensors in the returned value, which pass to the enclosing scope (or, outside any, to
 * the caller). Nesting scopes frees intermediates at the points hand releases did:
 * `scope(() => b(scope(() => a(x))))` frees a's result once b has recorded its read of it.
 *
 * Ownership is by buffer, so a view (GpuTensor.view) of a scope's tensor is the tensor.
 * Scopes span synchronous recording only: GPU work is recorded synchronously and freed
 * buffers are reused in command order (see BufferPool), so a scope may end before its
 * commands run; a callback that returns a promise is refused.
 */
export class TensorScope {
  /** The tensors this scope frees when it ends, by buffer (kept by ScopeStack). */
  readonly owned = new Map<GPUBuffer, GpuTensor>();
  /** False once the scope has ended (set by ScopeStack). */
  open = true;

  constructor(private readonly stack: ScopeStack) {}

  /**
   * Takes over a tensor made before this scope (in an enclosing scope, or outside any):
   * it is freed when this scope ends, so `adopt` marks the scope as its last reader.
   * Returns the tensor, to be used inline; undefined passes through.
   */
  adopt<T extends GpuTensor | undefined>(tensor: T): T {
    if (!this.open) throw new Error('TensorScope.adopt: the scope has ended');
    if (tensor) {
      this.stack.disown(tensor.buffer);
      this.owned.set(tensor.buffer, tensor);
    }
    return tensor;
  }
}

/** The engine's open scopes, innermost last. */
export class ScopeStack {
  private readonly scopes: TensorScope[] = [];

  /** A tensor the engine just made: the innermost open scope owns it. */
  made(tensor: GpuTensor): void {
    this.scopes.at(-1)?.owned.set(tensor.buffer, tensor);
  }

  /** A buffer released by hand (or adopted elsewhere): no scope frees it again. */
  disown(buffer: GPUBuffer): void {
    for (let i = this.scopes.length - 1; i >= 0; i--) if (this.scopes[i]!.owned.delete(buffer)) return;
  }

  /**
   * Runs `fn` in a new scope, then frees (through `release`) what the scope owns except
   * the tensors reachable from its result; on a throw it frees everything it owns.
   */
  run<T>(fn: (scope: TensorScope) => T, release: (tensors: GpuTensor[]) => void): T {
    const scope = new TensorScope(this);
    this.scopes.push(scope);
    let result: T;
    try {
      result = fn(scope);
      if (isThenable(result)) throw new Error('engine.scope: the callback returned a promise; a scope spans synchronous recording only (await outside it)');
    } catch (error) {
      this.close(scope);
      release([...scope.owned.values()]);
      throw error;
    }
    this.close(scope);
    const kept = tensorBuffers(result);
    const parent = this.scopes.at(-1);
    const freed: GpuTensor[] = [];
    for (const [buffer, tensor] of scope.owned) {
      if (!kept.has(buffer)) freed.push(tensor);
      else parent?.owned.set(buffer, tensor);
    }
    release(freed);
    return result;
  }

  private close(scope: TensorScope): void {
    if (this.scopes.at(-1) !== scope) throw new Error('internal: tensor scopes closed out of order');
    this.scopes.pop();
    scope.open = false;
  }
}

function isThenable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** The buffers of every tensor in `value`: itself, or inside arrays and plain objects, at any depth. */
function tensorBuffers(value: unknown, found = new Set<GPUBuffer>(), seen = new Set<object>()): Set<GPUBuffer> {
  if (value instanceof GpuTensor) found.add(value.buffer);
  else if (typeof value === 'object' && value !== null && !seen.has(value)) {
    seen.add(value);
    const prototype = Object.getPrototypeOf(value) as unknown;
    if (Array.isArray(value)) for (const item of value) tensorBuffers(item, found, seen);
    else if (prototype === Object.prototype || prototype === null) for (const item of Object.values(value)) tensorBuffers(item, found, seen);
  }
  return found;
}
