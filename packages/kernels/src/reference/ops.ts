/**
 * Plain TypeScript reference operators, the yardstick every WGSL kernel is tested
 * against. Written for clarity, accumulating in float64; never used on a hot path.
 * Outputs have the input's array type: float32 to compare with kernels, float64 for
 * finite-difference checks of the backward kernels.
 */
export type Floats = Float32Array | Float64Array;

function like<T extends Floats>(x: T, n: number): T {
  return (x instanceof Float64Array ? new Float64Array(n) : new Float32Array(n)) as T;
}

/** erf to ~1e-15: Taylor series near 0, continued fraction for the tail. */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a > 6) return Math.sign(x);
  if (a < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(a) = exp(-a^2) / sqrt(pi) * 1 / (a + 1/2 / (a + 1 / (a + 3/2 / (a + ...))))
  let f = a;
  for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/** c = a [M, K] . b [K, N] (+ bias [N]). */
export function matmulRef<T extends Floats>(a: T, b: Floats, M: number, K: number, N: number, bias?: Floats): T {
  const c = like(a, M * N);
  const row = new Float64Array(N);
  for (let m = 0; m < M; m++) {
    row.fill(0);
    for (let k = 0; k < K; k++) {
      const av = a[m * K + k]!;
      if (av === 0) continue;
      const bo = k * N;
      for (let n = 0; n < N; n++) row[n]! += av * b[bo + n]!;
    }
    for (let n = 0; n < N; n++) c[m * N + n] = row[n]! + (bias ? bias[n]! : 0);
  }
  return c;
}

export function layerNormRef<T extends Floats>(x: T, D: number, weight: Floats, bias: Floats, eps: number): T {
  const out = like(x, x.length);
  for (let o = 0; o < x.length; o += D) {
    let mean = 0;
    for (let d = 0; d < D; d++) mean += x[o + d]!;
    mean /= D;
    let v = 0;
    for (let d = 0; d < D; d++) v += (x[o + d]! - mean) ** 2;
    const inv = 1 / Math.sqrt(v / D + eps);
    for (let d = 0; d < D; d++) out[o + d] = (x[o + d]! - mean) * inv * weight[d]! + bias[d]!;
  }
  return out;
}

export function softmaxRef<T extends Floats>(x: T, N: number): T {
  const out = like(x, x.length);
  for (let o = 0; o < x.length; o += N) {
    let m = -Infinity;
    for (let j = 0; j < N; j++) m = Math.max(m, x[o + j]!);
    let s = 0;
    for (let j = 0; j < N; j++) s += Math.exp(x[o + j]! - m);
    for (let j = 0; j < N; j++) out[o + j] = Math.exp(x[o + j]! - m) / s;
  }
  return out;
}

/**
 * Attention of one sequence from a fused qkv [T, 3, H, Dh]; keys with keyVisible false
 * get -inf scores. Returns out [T, H * Dh] and probabilities [H, T, T].
 */
export function attentionRef<A extends Floats>(
  qkv: A,
  T: number,
  H: number,
  Dh: number,
  keyVisible?: (j: number) => boolean,
): { out: A; probs: A } {
  const D = H * Dh;
  const out = like(qkv, T * D);
  const probs = like(qkv, H * T * T);
  const scores = new Float64Array(T);
  const scale = 1 / Math.sqrt(Dh);
  for (let h = 0; h < H; h++) {
    for (let t = 0; t < T; t++) {
      let m = -Infinity;
      for (let j = 0; j < T; j++) {
        if (keyVisible && !keyVisible(j)) {
          scores[j] = -Infinity;
          continue;
        }
        let s = 0;
        for (let d = 0; d < Dh; d++) s += qkv[t * 3 * D + h * Dh + d]! * qkv[j * 3 * D + D + h * Dh + d]!;
        scores[j] = s * scale;
        m = Math.max(m, scores[j]!);
      }
      let sum = 0;
      for (let j = 0; j < T; j++) sum += Math.exp(scores[j]! - m);
      for (let j = 0; j < T; j++) {
        const p = Math.exp(scores[j]! - m) / sum;
        probs[(h * T + t) * T + j] = p;
        if (p === 0) continue;
        for (let d = 0; d < Dh; d++) out[t * D + h * Dh + d]! += p * qkv[j * 3 * D + 2 * D + h * Dh + d]!;
      }
    }
  }
  return { out, probs };
}

/** PyTorch-layout convolution: x [B, C, H, W], w [OC, C, K, K], square kernel, zero padding. */
export function conv2dRef<T extends Floats>(
  x: T,
  [B, C, H, W]: readonly number[],
  w: Floats,
  OC: number,
  K: number,
  stride: number,
  pad: number,
  bias?: Floats,
): { out: T; shape: [number, number, number, number] } {
  const OH = Math.floor((H! + 2 * pad - K) / stride) + 1;
  const OW = Math.floor((W! + 2 * pad - K) / stride) + 1;
  const out = like(x, B! * OC * OH * OW);
  for (let b = 0; b < B!; b++)
    for (let o = 0; o < OC; o++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let s = bias ? bias[o]! : 0;
          for (let c = 0; c < C!; c++)
            for (let ky = 0; ky < K; ky++) {
              const y = oy * stride + ky - pad;
              if (y < 0 || y >= H!) continue;
              for (let kx = 0; kx < K; kx++) {
                const xx = ox * stride + kx - pad;
                if (xx < 0 || xx >= W!) continue;
                s += x[((b * C! + c) * H! + y) * W! + xx]! * w[((o * C! + c) * K + ky) * K + kx]!;
              }
            }
          out[((b * OC + o) * OH + oy) * OW + ox] = s;
        }
  return { out, shape: [B!, OC, OH, OW] };
}

/** PyTorch max_pool2d on [B, C, H, W] (padding never wins: it is -inf). */
export function maxPool2dRef<T extends Floats>(x: T, [B, C, H, W]: readonly number[], K: number, stride: number, pad: number): T {
  const OH = Math.floor((H! + 2 * pad - K) / stride) + 1;
  const OW = Math.floor((W! + 2 * pad - K) / stride) + 1;
  const out = like(x, B! * C! * OH * OW);
  for (let p = 0; p < B! * C!; p++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        let m = -Infinity;
        for (let ky = 0; ky < K; ky++)
          for (let kx = 0; kx < K; kx++) {
            const y = oy * stride + ky - pad;
            const xx = ox * stride + kx - pad;
            if (y >= 0 && y < H! && xx >= 0 && xx < W!) m = Math.max(m, x[(p * H! + y) * W! + xx]!);
          }
        out[(p * OH + oy) * OW + ox] = m;
      }
  return out;
}

/** [B, C, H, W] -> NHWC copy, the layout the convolution kernels use. */
export function nchwToNhwc<T extends Floats>(x: T, [B, C, H, W]: readonly number[]): T {
  const out = like(x, x.length);
  for (let b = 0; b < B!; b++)
    for (let c = 0; c < C!; c++)
      for (let i = 0; i < H! * W!; i++) out[(b * H! * W! + i) * C! + c] = x[(b * C! + c) * H! * W! + i]!;
  return out;
}

/** NHWC [B, H, W, C] -> NCHW copy. */
export function nhwcToNchw<T extends Floats>(x: T, [B, H, W, C]: readonly number[]): T {
  const out = like(x, x.length);
  for (let b = 0; b < B!; b++)
    for (let i = 0; i < H! * W!; i++)
      for (let c = 0; c < C!; c++) out[(b * C! + c) * H! * W! + i] = x[(b * H! * W! + i) * C! + c]!;
  return out;
}
