// Max pooling over NHWC, one invocation per output element; padded positions are
// skipped (PyTorch pads max-pool with -inf). Bindings: 0 params, 1 input [B, H, W, C],
// 2 out [B, OH, OW, C]. Invocations: total, as a flat range.

struct Params {
  total: u32,
  H: u32,
  W: u32,
  C: u32,
  OH: u32,
  OW: u32,
  kernel: u32,
  stride: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.total) {
    return;
  }
  let c = i % p.C;
  let pixel = i / p.C;
  let ox = pixel % p.OW;
  let rest = pixel / p.OW;
  let oy = rest % p.OH;
  let n = rest / p.OH;
  var best = -3.0e38;
  for (var ky = 0u; ky < p.kernel; ky++) {
    let y = i32(oy * p.stride + ky) - i32(p.pad);
    if (y < 0 || y >= i32(p.H)) {
      continue;
    }
    for (var kx = 0u; kx < p.kernel; kx++) {
      let x = i32(ox * p.stride + kx) - i32(p.pad);
      if (x < 0 || x >= i32(p.W)) {
        continue;
      }
      best = max(best, input[((n * p.H + u32(y)) * p.W + u32(x)) * p.C + c]);
    }
  }
  out[i] = best;
}
