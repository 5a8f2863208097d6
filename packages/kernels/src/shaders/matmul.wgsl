// Strided, batched matrix product with a fused epilogue, the work-horse of every linear
// layer and of attention:
//   C[z](m, n) = act(sum_k A[z](m, k) * B[z](k, n) + bias[n]) + residual[z](m, n)
// Element addresses (z split as outer = z / inner, inner = z % inner):
//   A: aOffset + outer * aOuter + inner * aInner + m * lda + k * ldaK
//   B: bOffset + outer * bOuter + inner * bInner + k * ldbK + n * ldbN
//   C: cOffset + outer * cOuter + inner * cInner + m * ldc + n   (residual likewise)
// so attention reads q, k and v straight out of the fused qkv projection (k transposed
// through ldbN) and writes each head into its columns of the output, and its backward
// pass reads transposed probabilities through lda / ldaK, with no copies.
// Bindings: 0 params, 1 A, 2 B (linear weights are stored [in, out]), 3 bias [N],
// 4 residual, 5 C, 6 B again, as vec4s (VEC_B: B contiguous along n, every row start a
// multiple of 4). Bias and residual are bound to a dummy when their override is off.
// Tiling: each invocation owns ROWS x COLS outputs in registers; a K step loads COLS values of
// B (two vec4 loads with VEC_B) and ROWS of A. No workgroup memory: on CPU rasterisers
// (lavapipe) barriers cost more than they save, and on GPUs the B slice is shared through
// L1 by the 8 invocations of a row. 16 x 8 measured fastest on lavapipe (8 x 4: 2x slower).
// Invocations: x = ceil(N / COLS), y = ceil(M / ROWS), z = batch.

// The storage element type of activations and weights: f32, or f16 in the kernel's f16
// variant (typedKernel); arithmetic is f32 either way.
alias Float = f32;

override HAS_BIAS: bool = false;
override ACTIVATION: u32 = 0u; // 0 none, 1 GELU (erf), 2 ReLU
override HAS_RESIDUAL: bool = false;
override VEC_B: bool = false;

const ROWS: u32 = 16u;
// Two vec4s of B per K step (b0, b1): the loads and the lo / hi accumulators assume 8.
const COLS: u32 = 8u;

struct Params {
  M: u32,
  K: u32,
  N: u32,
  lda: u32,
  ldaK: u32,
  ldbK: u32,
  ldbN: u32,
  ldc: u32,
  inner: u32,
  aOffset: u32,
  aOuter: u32,
  aInner: u32,
  bOffset: u32,
  bOuter: u32,
  bInner: u32,
  cOffset: u32,
  cOuter: u32,
  cInner: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<Float>;
@group(0) @binding(2) var<storage, read> B: array<Float>;
@group(0) @binding(3) var<storage, read> bias: array<Float>;
@group(0) @binding(4) var<storage, read> residual: array<Float>;
@group(0) @binding(5) var<storage, read_write> C: array<Float>;
@group(0) @binding(6) var<storage, read> B4: array<vec4<Float>>;

// erf with |error| < 1.5e-7 (Abramowitz & Stegun 7.1.26); WGSL has no built-in erf and
// timm / Hugging Face use the exact (erf) GELU, not the tanh approximation.
fn erf_approx(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return sign(x) * y;
}

fn activate(x: f32) -> f32 {
  if (ACTIVATION == 1u) {
    return 0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752));
  }
  if (ACTIVATION == 2u) {
    return max(x, 0.0);
  }
  return x;
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = p.M;
  let N = p.N;
  let col0 = gid.x * COLS;
  let row0 = gid.y * ROWS;
  if (col0 >= N || row0 >= M) {
    return;
  }
  let outer = gid.z / p.inner;
  let inner = gid.z - outer * p.inner;
  let aBase = p.aOffset + outer * p.aOuter + inner * p.aInner;
  let bBase = p.bOffset + outer * p.bOuter + inner * p.bInner;
  let cBase = p.cOffset + outer * p.cOuter + inner * p.cInner;

  // Out-of-range columns and rows read a valid neighbour and are never stored, so the
  // inner loop needs no branches.
  var n: array<u32, COLS>;
  for (var j = 0u; j < COLS; j++) {
    n[j] = min(col0 + j, N - 1u) * p.ldbN;
  }
  let secondHalf = select(col0, col0 + 4u, col0 + 4u < N);
  var aRow: array<u32, ROWS>;
  for (var i = 0u; i < ROWS; i++) {
    aRow[i] = aBase + min(row0 + i, M - 1u) * p.lda;
  }

  var lo: array<vec4<f32>, ROWS>;
  var hi: array<vec4<f32>, ROWS>;
  for (var k = 0u; k < p.K; k++) {
    let bRow = bBase + k * p.ldbK;
    var b0: vec4<f32>;
    var b1: vec4<f32>;
    if (VEC_B) {
      b0 = vec4<f32>(B4[(bRow + col0) / 4u]);
      b1 = vec4<f32>(B4[(bRow + secondHalf) / 4u]);
    } else {
      b0 = vec4<f32>(f32(B[bRow + n[0]]), f32(B[bRow + n[1]]), f32(B[bRow + n[2]]), f32(B[bRow + n[3]]));
      b1 = vec4<f32>(f32(B[bRow + n[4]]), f32(B[bRow + n[5]]), f32(B[bRow + n[6]]), f32(B[bRow + n[7]]));
    }
    for (var i = 0u; i < ROWS; i++) {
      let a = vec4<f32>(f32(A[aRow[i] + k * p.ldaK]));
      lo[i] = fma(a, b0, lo[i]);
      hi[i] = fma(a, b1, hi[i]);
    }
  }

  let cols = min(COLS, N - col0);
  for (var i = 0u; i < ROWS; i++) {
    let row = row0 + i;
    if (row >= M) {
      break;
    }
    let o = cBase + row * p.ldc + col0;
    for (var j = 0u; j < cols; j++) {
      var v = select(hi[i][j & 3u], lo[i][j & 3u], j < 4u);
      if (HAS_BIAS) {
        v += f32(bias[col0 + j]);
      }
      v = activate(v);
      if (HAS_RESIDUAL) {
        v += f32(residual[o + j]);
      }
      C[o + j] = Float(v);
    }
  }
}
