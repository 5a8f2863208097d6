// Gradient of averaging pixels or tokens: every averaged position receives dy / count.
// Covers global average pooling (NHWC, every pixel kept) and the token mean of a ViT's
// average pooling (keep flags per token). Bindings: 0 params, 1 dy [R, D],
// 2 keep [R, T] u32 (dummy unless HAS_KEEP), 3 dx [R, T, D].
// Invocations: R * T * D, as a flat range.

override HAS_KEEP: bool = false;

struct Params {
  rows: u32,
  T: u32,
  D: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> keep: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.rows * p.T * p.D) {
    return;
  }
  let d = i % p.D;
  let t = (i / p.D) % p.T;
  let r = i / (p.D * p.T);
  var count = f32(p.T);
  var kept = true;
  if (HAS_KEEP) {
    count = 0.0;
    for (var u = 0u; u < p.T; u++) {
      count += f32(keep[r * p.T + u]);
    }
    kept = keep[r * p.T + t] != 0u;
  }
  dx[i] = select(0.0, dy[r * p.D + d] / max(count, 1.0), kept);
}
