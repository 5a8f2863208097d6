// Builds the token sequence of each image: prefix tokens (class, distillation) followed by
// the patch embeddings, each plus its positional embedding.
// Bindings: 0 params, 1 patches [B * Np, D], 2 prefix [nPrefix, D], 3 pos [posRows, D],
//   4 out [B, nPrefix + Np, D].
// posRows = nPrefix + Np, or Np when prefix tokens carry no position (timm no_embed_class).
// Invocations: one per output element, total as a flat range.

// The storage element type of activations and weights: f32, or f16 in the kernel's f16
// variant (typedKernel); arithmetic is f32 either way.
alias Float = f32;

struct Params {
  total: u32,
  patches: u32,
  nPrefix: u32,
  D: u32,
  posHasPrefix: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> patches: array<Float>;
@group(0) @binding(2) var<storage, read> prefix: array<Float>;
@group(0) @binding(3) var<storage, read> pos: array<Float>;
@group(0) @binding(4) var<storage, read_write> out: array<Float>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
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
    var v = f32(prefix[t * D + d]);
    if (p.posHasPrefix != 0u) {
      v += f32(pos[t * D + d]);
    }
    out[i] = Float(v);
  } else {
    let patchIndex = t - p.nPrefix;
    var posRow = patchIndex;
    if (p.posHasPrefix != 0u) {
      posRow = t;
    }
    out[i] = Float(f32(patches[(b * p.patches + patchIndex) * D + d]) + f32(pos[posRow * D + d]));
  }
}
