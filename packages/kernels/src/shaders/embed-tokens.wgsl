// Builds the token sequence of each image: prefix tokens (class, distillation) followed by
// the patch embeddings, each plus its positional embedding.
// Bindings: 0 params, 1 patches [B * Np, D], 2 prefix [nPrefix, D], 3 pos [posRows, D],
//   4 out [B, nPrefix + Np, D].
// posRows = nPrefix + Np, or Np when prefix tokens carry no position (timm no_embed_class).
// Grid: one invocation per output element, x * y * 256 >= total (see grid2d).

struct Params {
  total: u32,
  patches: u32,
  nPrefix: u32,
  D: u32,
  posHasPrefix: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> patches: array<f32>;
@group(0) @binding(2) var<storage, read> prefix: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * 256u;
  if (i >= p.total) {
    return;
  }
  let D = p.D;
  let T = p.nPrefix + p.patches;
  let row = i / D;
  let d = i - row * D;
  let b = row / T;
  let t = row - b * T;
  if (t < p.nPrefix) {
    var v = prefix[t * D + d];
    if (p.posHasPrefix != 0u) {
      v += pos[t * D + d];
    }
    out[i] = v;
  } else {
    let patchIndex = t - p.nPrefix;
    var posRow = patchIndex;
    if (p.posHasPrefix != 0u) {
      posRow = t;
    }
    out[i] = patches[(b * p.patches + patchIndex) * D + d] + pos[posRow * D + d];
  }
}
