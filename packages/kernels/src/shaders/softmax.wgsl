// Row softmax over the last dimension, one invocation per row, accumulated in f32 with
// the row maximum subtracted first. Bindings: 0 params, 1 x [rows, N], 2 out [rows, N].
// Invocations: rows, as a flat range.

struct Params {
  rows: u32,
  N: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 64u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let row = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (row >= p.rows) {
    return;
  }
  let base = row * p.N;
  var m = x[base];
  for (var j = 1u; j < p.N; j++) {
    m = max(m, x[base + j]);
  }
  var sum = 0.0;
  for (var j = 0u; j < p.N; j++) {
    sum += exp(x[base + j] - m);
  }
  for (var j = 0u; j < p.N; j++) {
    out[base + j] = exp(x[base + j] - m) / sum;
  }
}
