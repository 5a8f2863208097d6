// Unfolds non-overlapping P x P patches of NCHW images into rows, so the patch-embedding
// convolution (kernel = stride = P) becomes one matmul with the [C*P*P, D] weight.
// Row (b * Np + py * gw + px) holds channel-major values c * P * P + ky * P + kx, the
// order of a PyTorch conv weight [D, C, P, P] flattened.
// Bindings: 0 params, 1 images [B, C, H, W], 2 out [B * Np, C * P * P].
// Invocations: one per output element, total as a flat range.

// The storage element type of activations and weights: f32, or f16 in the kernel's f16
// variant (typedKernel); arithmetic is f32 either way.
alias Float = f32;

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
@group(0) @binding(1) var<storage, read> images: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<Float>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.total) {
    return;
  }
  let P = p.P;
  let rowLength = p.C * P * P;
  let row = i / rowLength;
  var col = i - row * rowLength;
  let b = row / p.patches;
  let patchIndex = row - b * p.patches;
  let py = patchIndex / p.gridW;
  let px = patchIndex - py * p.gridW;
  let c = col / (P * P);
  col -= c * P * P;
  let ky = col / P;
  let kx = col - ky * P;
  let y = py * P + ky;
  let x = px * P + kx;
  out[i] = Float(images[((b * p.C + c) * p.H + y) * p.W + x]);
}
