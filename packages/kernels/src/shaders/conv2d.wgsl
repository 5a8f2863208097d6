// 2-D convolution as an implicit GEMM over NHWC activations, with BatchNorm folded into
// weight and bias at load time and a fused epilogue:
//   out[m, oc] = relu?(sum_k patch(m)[k] * W[k, oc] + bias[oc] + residual?[m, oc])
// m = (n, oy, ox) is an output pixel, k = (ky, kx, ic) runs over the receptive field.
// NHWC makes both GEMM operands contiguous along k's innermost part (input channels) and
// the output row-major [pixels, channels], which is again NHWC: no layout changes
// between layers. Bindings: 0 params, 1 input [B, H, W, C], 2 weight [KH * KW * C, OC],
// 3 bias [OC], 4 residual [B, OH, OW, OC] (dummy unless HAS_RESIDUAL), 5 out.
// Tiling as in matmul.wgsl: ROWS pixels x 4 output channels per invocation, receptive
// field offsets computed once per (ky, kx), zero padding by predication.
// Invocations: x = ceil(OC / 4 / COLS4), y = ceil(M / ROWS).

override HAS_RESIDUAL: bool = false;
override RELU: bool = false;

const ROWS: u32 = 16u;
const COLS4: u32 = 2u;

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
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> residual: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let OC4 = p.OC / 4u;
  let col4 = gid.x * COLS4;
  let row0 = gid.y * ROWS;
  if (col4 >= OC4 || row0 >= p.M) {
    return;
  }
  let C = p.C;
  var iy0: array<i32, ROWS>;
  var ix0: array<i32, ROWS>;
  var imageBase: array<u32, ROWS>;
  let pixels = p.OH * p.OW;
  for (var i = 0u; i < ROWS; i++) {
    let m = min(row0 + i, p.M - 1u);
    let n = m / pixels;
    let rem = m - n * pixels;
    let oy = rem / p.OW;
    let ox = rem - oy * p.OW;
    iy0[i] = i32(oy * p.stride) - i32(p.pad);
    ix0[i] = i32(ox * p.stride) - i32(p.pad);
    imageBase[i] = n * p.H * p.W * C;
  }
  var acc: array<array<vec4<f32>, COLS4>, ROWS>;
  for (var ky = 0u; ky < p.KH; ky++) {
    for (var kx = 0u; kx < p.KW; kx++) {
      var offset: array<u32, ROWS>;
      var inside: array<f32, ROWS>;
      for (var i = 0u; i < ROWS; i++) {
        let y = iy0[i] + i32(ky);
        let x = ix0[i] + i32(kx);
        let ok = y >= 0 && y < i32(p.H) && x >= 0 && x < i32(p.W);
        inside[i] = select(0.0, 1.0, ok);
        offset[i] = select(0u, imageBase[i] + (u32(y) * p.W + u32(x)) * C, ok);
      }
      let wBase = (ky * p.KW + kx) * C;
      for (var c = 0u; c < C; c++) {
        let w0 = (wBase + c) * OC4 + col4;
        var b: array<vec4<f32>, COLS4>;
        for (var j = 0u; j < COLS4; j++) {
          b[j] = weight[min(w0 + j, w0 + OC4 - col4 - 1u)];
        }
        for (var i = 0u; i < ROWS; i++) {
          let a = vec4<f32>(input[offset[i] + c] * inside[i]);
          for (var j = 0u; j < COLS4; j++) {
            acc[i][j] = fma(a, b[j], acc[i][j]);
          }
        }
      }
    }
  }
  let cols = min(COLS4, OC4 - col4);
  for (var i = 0u; i < ROWS; i++) {
    let row = row0 + i;
    if (row >= p.M) {
      break;
    }
    for (var j = 0u; j < cols; j++) {
      let o = row * OC4 + col4 + j;
      var v = acc[i][j] + bias[col4 + j];
      if (HAS_RESIDUAL) {
        v += residual[o];
      }
      if (RELU) {
        v = max(v, vec4<f32>(0.0));
      }
      out[o] = v;
    }
  }
}
