// out = alpha * a + beta * b, elementwise (the averaged heads of distilled DeiT).
// Bindings: 0 params, 1 a, 2 b, 3 out. Invocations: n, as a flat range.

// The storage element type of activations and weights: f32, or f16 in the kernel's f16
// variant (typedKernel); arithmetic is f32 either way.
alias Float = f32;

struct Params {
  n: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<Float>;
@group(0) @binding(2) var<storage, read> b: array<Float>;
@group(0) @binding(3) var<storage, read_write> out: array<Float>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.n) {
    return;
  }
  out[i] = Float(p.alpha * f32(a[i]) + p.beta * f32(b[i]));
}
