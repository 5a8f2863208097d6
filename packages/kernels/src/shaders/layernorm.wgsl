// Layer normalisation over the last dimension, one invocation per row.
// Bindings: 0 params, 1 x, 2 weight [D], 3 bias [D], 4 out [rows, D] (contiguous).
// Input row r starts at rowOffset + r * rowStride, which lets the final norm read only the
// class token of each sequence (rowStride = T * D) instead of normalising every token.
// Mean and variance are two passes in f32 (as PyTorch does), not a one-pass formula that
// loses precision when |mean| >> std. Invocations: rows, as a flat range.

// The storage element type of activations and weights: f32, or f16 in the kernel's f16
// variant (typedKernel); arithmetic is f32 either way.
alias Float = f32;

struct Params {
  rows: u32,
  D: u32,
  rowStride: u32,
  rowOffset: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<Float>;
@group(0) @binding(2) var<storage, read> weight: array<Float>;
@group(0) @binding(3) var<storage, read> bias: array<Float>;
@group(0) @binding(4) var<storage, read_write> out: array<Float>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 64u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let row = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (row >= p.rows) {
    return;
  }
  let D = p.D;
  let base = p.rowOffset + row * p.rowStride;
  var sum = 0.0;
  for (var d = 0u; d < D; d++) {
    sum += f32(x[base + d]);
  }
  let mean = sum / f32(D);
  var sq = 0.0;
  for (var d = 0u; d < D; d++) {
    let c = f32(x[base + d]) - mean;
    sq += c * c;
  }
  let inv = inverseSqrt(sq / f32(D) + p.eps);
  let o = row * D;
  for (var d = 0u; d < D; d++) {
    out[o + d] = Float((f32(x[base + d]) - mean) * inv * f32(weight[d]) + f32(bias[d]));
  }
}
