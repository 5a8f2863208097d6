// In-place softmax of attention scores with key masking, one invocation per row:
//   S[b, h, q, j] <- softmax_j(scale * S[b, h, q, j]; keys with keyKeep[b, j] = 0 get -inf)
// Masked keys get probability exactly 0 (as exp(-inf) does), accumulation is f32 with the
// row maximum subtracted first. A row always has a visible key: prefix tokens are never
// masked. Bindings: 0 params, 1 keyKeep [B, T] u32 (dummy unless HAS_KEY_MASK),
// 2 S [B, H, Tq, T]. Invocations: B * H * Tq, as a flat range.

override HAS_KEY_MASK: bool = false;

// The storage element type of activations and weights: f32, or f16 in the kernel's f16
// variant (typedKernel); arithmetic is f32 either way.
alias Float = f32;

struct Params {
  rows: u32,
  T: u32,
  rowsPerSequence: u32, // H * Tq
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> keyKeep: array<u32>;
@group(0) @binding(2) var<storage, read_write> S: array<Float>;

fn visible(b: u32, j: u32) -> bool {
  return !HAS_KEY_MASK || keyKeep[b * p.T + j] != 0u;
}

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 64u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let row = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (row >= p.rows) {
    return;
  }
  let T = p.T;
  let b = row / p.rowsPerSequence;
  let base = row * T;
  var m = -3.0e38;
  for (var j = 0u; j < T; j++) {
    if (visible(b, j)) {
      m = max(m, f32(S[base + j]) * p.scale);
    }
  }
  var sum = 0.0;
  for (var j = 0u; j < T; j++) {
    if (visible(b, j)) {
      sum += exp(f32(S[base + j]) * p.scale - m);
    }
  }
  let inv = 1.0 / sum;
  for (var j = 0u; j < T; j++) {
    var w = 0.0;
    if (visible(b, j)) {
      w = exp(f32(S[base + j]) * p.scale - m) * inv;
    }
    S[base + j] = Float(w);
  }
}
