// LayerNorm input gradient, one invocation per row, with the residual branch's gradient
// added in the same pass (a pre-norm block's input gets both):
//   dx = (1 / sigma) * (g - mean(g) - xhat * mean(g * xhat)) + residual,  g = weight * dy
// mean and sigma are recomputed from x as in the forward pass (two passes, f32).
// Bindings: 0 params, 1 x [rows, D], 2 weight [D], 3 dy [rows, D], 4 residual [rows, D]
// (dummy unless HAS_RESIDUAL), 5 dx [rows, D]. Invocations: rows, as a flat range.

override HAS_RESIDUAL: bool = false;

struct Params {
  rows: u32,
  D: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 64u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let row = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (row >= p.rows) {
    return;
  }
  let D = p.D;
  let base = row * D;
  let n = f32(D);
  var sum = 0.0;
  for (var d = 0u; d < D; d++) {
    sum += x[base + d];
  }
  let mean = sum / n;
  var sq = 0.0;
  for (var d = 0u; d < D; d++) {
    let c = x[base + d] - mean;
    sq += c * c;
  }
  let inv = inverseSqrt(sq / n + p.eps);
  var meanG = 0.0;
  var meanGX = 0.0;
  for (var d = 0u; d < D; d++) {
    let g = weight[d] * dy[base + d];
    meanG += g;
    meanGX += g * (x[base + d] - mean) * inv;
  }
  meanG /= n;
  meanGX /= n;
  for (var d = 0u; d < D; d++) {
    let xhat = (x[base + d] - mean) * inv;
    var v = inv * (weight[d] * dy[base + d] - meanG - xhat * meanGX);
    if (HAS_RESIDUAL) {
      v += residual[base + d];
    }
    dx[base + d] = v;
  }
}
