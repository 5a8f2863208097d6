// Mean over a sequence's kept patch tokens (timm global_pool = 'avg'). Prefix tokens,
// padding of ragged batches and, in attention masking, the removed patches (which still
// flow through the blocks) are left out by the keep flags, so attention masking from
// layer 0 pools exactly what token removal pools. A sequence with no kept patch gives
// zeros rather than NaN so a masked game stays finite.
// Bindings: 0 params, 1 x [R, T, D], 2 keep [R, T] u32, 3 out [R, D].
// Invocations: R * D, as a flat range.

// The storage element type of activations and weights: f32, or f16 in the kernel's f16
// variant (typedKernel); arithmetic is f32 either way.
alias Float = f32;

struct Params {
  rows: u32,
  T: u32,
  D: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<Float>;
@group(0) @binding(2) var<storage, read> keep: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<Float>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 64u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.rows * p.D) {
    return;
  }
  let r = i / p.D;
  let d = i - r * p.D;
  var sum = 0.0;
  var count = 0u;
  for (var t = 0u; t < p.T; t++) {
    if (keep[r * p.T + t] != 0u) {
      sum += f32(x[(r * p.T + t) * p.D + d]);
      count += 1u;
    }
  }
  out[i] = Float(select(0.0, sum / f32(count), count > 0u));
}
