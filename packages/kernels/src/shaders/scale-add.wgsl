// out = alpha * a + beta * b, elementwise (the averaged heads of distilled DeiT).
// Bindings: 0 params, 1 a, 2 b, 3 out. Grid: x * y * 256 >= n (see grid2d).

struct Params {
  n: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * 256u;
  if (i >= p.n) {
    return;
  }
  out[i] = p.alpha * a[i] + p.beta * b[i];
}
