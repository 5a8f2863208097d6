// Gradient through attention's scaled, masked softmax, in place over the probability
// gradient: dS = scale * P * (dP - sum_j dP_j P_j), one invocation per row. Masked keys
// have P = 0 and get no gradient, as through exp(-inf). Bindings: 0 params,
// 1 P [rows, T], 2 dP -> dS [rows, T]. Invocations: rows, as a flat range.

struct Params {
  rows: u32,
  T: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> P: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 64u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let row = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (row >= p.rows) {
    return;
  }
  let base = row * p.T;
  var dot = 0.0;
  for (var j = 0u; j < p.T; j++) {
    dot += grad[base + j] * P[base + j];
  }
  for (var j = 0u; j < p.T; j++) {
    grad[base + j] = p.scale * P[base + j] * (grad[base + j] - dot);
  }
}
