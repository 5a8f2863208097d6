// Max-pool gradient (NHWC): each input element collects dy from the windows whose
// maximum it is. The window maximum is recomputed, the first in scan order winning ties
// as in PyTorch. One invocation per input element. Bindings: 0 params,
// 1 input [B, H, W, C], 2 dy [B, OH, OW, C], 3 dx [B, H, W, C].
// Invocations: total, as a flat range.

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
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

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
  let x = i32(pixel % p.W);
  let rest = pixel / p.W;
  let y = i32(rest % p.H);
  let n = rest / p.H;
  let K = i32(p.kernel);
  let S = i32(p.stride);
  let pad = i32(p.pad);
  var sum = 0.0;
  // Windows (oy, ox) containing (y, x): oy * S - pad <= y <= oy * S - pad + K - 1.
  let oyLo = max(0, (y + pad - K + S) / S);
  let oyHi = min(i32(p.OH) - 1, (y + pad) / S);
  let oxLo = max(0, (x + pad - K + S) / S);
  let oxHi = min(i32(p.OW) - 1, (x + pad) / S);
  for (var oy = oyLo; oy <= oyHi; oy++) {
    for (var ox = oxLo; ox <= oxHi; ox++) {
      var best = -3.0e38;
      var bestY = -1;
      var bestX = -1;
      for (var ky = 0; ky < K; ky++) {
        let yy = oy * S - pad + ky;
        if (yy < 0 || yy >= i32(p.H)) {
          continue;
        }
        for (var kx = 0; kx < K; kx++) {
          let xx = ox * S - pad + kx;
          if (xx < 0 || xx >= i32(p.W)) {
            continue;
          }
          let v = input[((n * p.H + u32(yy)) * p.W + u32(xx)) * p.C + c];
          if (v > best) {
            best = v;
            bestY = yy;
            bestX = xx;
          }
        }
      }
      if (bestY == y && bestX == x) {
        sum += dy[((n * p.OH + u32(oy)) * p.OW + u32(ox)) * p.C + c];
      }
    }
  }
  dx[i] = sum;
}
