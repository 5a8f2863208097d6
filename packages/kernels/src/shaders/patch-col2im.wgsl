// Inverse of patch-im2col: patch rows [B * Np, C * P * P] back to NCHW images. Patches
// do not overlap, so this is a permutation and the exact gradient of the unfold.
// Bindings: 0 params, 1 cols, 2 images [B, C, H, W].
// Invocations: one per image element, total as a flat range.

struct Params {
  total: u32,
  C: u32,
  H: u32,
  W: u32,
  P: u32,
  gridW: u32,
  patches: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> cols: array<f32>;
@group(0) @binding(2) var<storage, read_write> images: array<f32>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.total) {
    return;
  }
  let x = i % p.W;
  let rest = i / p.W;
  let y = rest % p.H;
  let plane = rest / p.H;
  let c = plane % p.C;
  let b = plane / p.C;
  let P = p.P;
  let patchIndex = (y / P) * p.gridW + x / P;
  let col = c * P * P + (y % P) * P + x % P;
  images[i] = cols[(b * p.patches + patchIndex) * p.C * P * P + col];
}
