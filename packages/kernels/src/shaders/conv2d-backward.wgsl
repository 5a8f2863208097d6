// Input gradient of a convolution (NHWC), a transposed convolution as an implicit GEMM
// over input pixels:
//   dx[n, y, x, c] = sum_{ky, kx, oc} dy[n, oy, ox, oc] * W[(ky * KW + kx) * C + c, oc]
// where oy * stride = y + pad - ky (only exact multiples inside the output contribute).
// Each invocation owns ROWS input pixels x 4 channels; an optional residual (the other
// path of a residual block) is added. Bindings: 0 params, 1 dy [B, OH, OW, OC],
// 2 weight [KH * KW * C, OC] (the forward layout), 3 residual [B, H, W, C] (dummy unless
// HAS_RESIDUAL), 4 dx [B, H, W, C]. Invocations: x = ceil(C / 4), y = ceil(M / ROWS).

override HAS_RESIDUAL: bool = false;

const ROWS: u32 = 8u;

struct Params {
  M: u32,
  H: u32,
  W: u32,
  C: u32,
  OH: u32,
  OW: u32,
  OC: u32,
  KH: u32,
  KW: u32,
  stride: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> residual: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c0 = gid.x * 4u;
  let row0 = gid.y * ROWS;
  if (c0 >= p.C || row0 >= p.M) {
    return;
  }
  let C = p.C;
  let OC = p.OC;
  let lastC = C - 1u;
  let cs = vec4<u32>(c0, min(c0 + 1u, lastC), min(c0 + 2u, lastC), min(c0 + 3u, lastC));
  var iy: array<i32, ROWS>;
  var ix: array<i32, ROWS>;
  var outBase: array<u32, ROWS>;
  let pixels = p.H * p.W;
  for (var i = 0u; i < ROWS; i++) {
    let m = min(row0 + i, p.M - 1u);
    let n = m / pixels;
    let rem = m - n * pixels;
    iy[i] = i32(rem / p.W);
    ix[i] = i32(rem % p.W);
    outBase[i] = n * p.OH * p.OW * OC;
  }
  var acc: array<vec4<f32>, ROWS>;
  let stride = i32(p.stride);
  for (var ky = 0u; ky < p.KH; ky++) {
    for (var kx = 0u; kx < p.KW; kx++) {
      var offset: array<u32, ROWS>;
      var inside: array<f32, ROWS>;
      for (var i = 0u; i < ROWS; i++) {
        let ty = iy[i] + i32(p.pad) - i32(ky);
        let tx = ix[i] + i32(p.pad) - i32(kx);
        let oy = ty / stride;
        let ox = tx / stride;
        let ok = ty >= 0 && tx >= 0 && ty % stride == 0 && tx % stride == 0 && oy < i32(p.OH) && ox < i32(p.OW);
        inside[i] = select(0.0, 1.0, ok);
        offset[i] = select(0u, outBase[i] + (u32(oy) * p.OW + u32(ox)) * OC, ok);
      }
      let wBase = (ky * p.KW + kx) * C;
      for (var oc = 0u; oc < OC; oc++) {
        let b = vec4<f32>(
          weight[(wBase + cs.x) * OC + oc],
          weight[(wBase + cs.y) * OC + oc],
          weight[(wBase + cs.z) * OC + oc],
          weight[(wBase + cs.w) * OC + oc],
        );
        for (var i = 0u; i < ROWS; i++) {
          acc[i] = fma(vec4<f32>(dy[offset[i] + oc] * inside[i]), b, acc[i]);
        }
      }
    }
  }
  let cols = min(4u, C - c0);
  for (var i = 0u; i < ROWS; i++) {
    let row = row0 + i;
    if (row >= p.M) {
      break;
    }
    let o = row * C + c0;
    for (var j = 0u; j < cols; j++) {
      var v = acc[i][j];
      if (HAS_RESIDUAL) {
        v += residual[o + j];
      }
      dx[o + j] = v;
    }
  }
}
