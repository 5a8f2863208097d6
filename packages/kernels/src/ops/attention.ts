import type { GpuEngine } from '../gpu/engine.ts';
import { floatType, type GpuTensor } from '../gpu/gpu-tensor.ts';
import { fusedAttentionKernel, maskedSoftmaxKernel, softmaxBackwardKernel, typedKernel } from '../shaders/index.ts';
import { gemm } from './matmul.ts';

export interface AttentionOptions {
  heads: number;
  /** [B, T] u32, 1 where the key is visible; omitted = every key visible. */
  keyKeep?: GpuTensor;
  /** Compute only the first `queries` query rows of each sequence (default all T). */
  queries?: number;
  /** Also return the attention probabilities [B, H, queries, T] (then always the three-dispatch path). */
  withProbabilities?: boolean;
  /** One dispatch with an online softmax (fused-attention.wgsl) instead of three, when the probabilities are not needed; default engine.fusedAttention. */
  fused?: boolean;
  label?: string;
}

export interface AttentionResult {
  /** [B, queries, D], heads side by side. */
  out: GpuTensor;
  probabilities?: GpuTensor;
}

/**
 * softmax(q k^T / sqrt(Dh), masked keys removed) v from a fused qkv [B, T, 3, H, Dh] (the
 * timm layout). Either one fused dispatch (see GpuEngine.fusedAttention), or three: scores by the strided
 * GEMM reading q and k in place, the masked softmax in place, and the value product
 * writing each head's columns.
 */
export function attention(engine: GpuEngine, qkv: GpuTensor, options: AttentionOptions): AttentionResult {
  const [B = 1, T = 1, threeD = 3] = qkv.shape;
  const D = threeD / 3;
  const H = options.heads;
  const Dh = D / H;
  if (!Number.isInteger(Dh)) throw new Error(`attention: D ${D} is not divisible by ${H} heads`);
  const Tq = options.queries ?? T;
  const label = options.label ?? 'attention';
  const sequence = T * 3 * D;
  const fused = options.fused ?? engine.fusedAttention;
  if (fused && !options.withProbabilities && Dh % 4 === 0) return { out: fusedAttention(engine, qkv, { B, T, Tq, H, Dh, label, keyKeep: options.keyKeep }) };

  const dtype = floatType(qkv);
  const scores = engine.empty([B, H, Tq, T], dtype);
  gemm(engine, {
    M: Tq, K: Dh, N: T, batch: B * H, innerCount: H,
    a: qkv, lda: 3 * D, aBatch: { outer: sequence, inner: Dh },
    b: qkv, ldbK: 1, ldbN: 3 * D, bBatch: { offset: D, outer: sequence, inner: Dh },
    out: scores, ldc: T, cBatch: { outer: H * Tq * T, inner: Tq * T },
    label: `${label}.scores`,
  });
  engine.dispatch({
    kernel: typedKernel(maskedSoftmaxKernel, dtype),
    label: `${label}.softmax`,
    constants: { HAS_KEY_MASK: options.keyKeep !== undefined },
    params: { rows: B * H * Tq, T, rowsPerSequence: H * Tq, scale: 1 / Math.sqrt(Dh) },
    buffers: { keyKeep: options.keyKeep, S: scores },
    invocations: B * H * Tq,
  });
  const out = engine.empty([B, Tq, D], dtype);
  gemm(engine, {
    M: Tq, K: T, N: Dh, batch: B * H, innerCount: H,
    a: scores, lda: T, aBatch: { outer: H * Tq * T, inner: Tq * T },
    b: qkv, ldbK: 3 * D, ldbN: 1, bBatch: { offset: 2 * D, outer: sequence, inner: Dh },
    out, ldc: D, cBatch: { outer: Tq * D, inner: Dh },
    label: `${label}.values`,
  });
  if (options.withProbabilities) return { out, probabilities: scores };
  engine.release(scores);
  return { out };
}

/** The one-dispatch path (fused-attention.wgsl): scores never leave the workgroup. */
function fusedAttention(engine: GpuEngine, qkv: GpuTensor, o: { B: number; T: number; Tq: number; H: number; Dh: number; label: string; keyKeep: GpuTensor | undefined }): GpuTensor {
  const D = o.H * o.Dh;
  const out = engine.empty([o.B, o.Tq, D], floatType(qkv));
  engine.dispatch({
    kernel: typedKernel(fusedAttentionKernel(o.Dh), floatType(qkv)),
    label: `${o.label}.fused`,
    constants: { HAS_KEY_MASK: o.keyKeep !== undefined },
    params: { T: o.T, Tq: o.Tq, H: o.H, D4: D / 4, scale: 1 / Math.sqrt(o.Dh) },
    buffers: { keyKeep: o.keyKeep, qkv, result: out },
    invocations: [o.Tq, o.B * o.H],
  });
  return out;
}

/**
 * Gradient of attention with respect to the fused qkv [B, T, 3D], given the forward
 * probabilities [B, H, Tq, T] and the output gradient [B, Tq, D]:
 *   dP = dO V^T,  dV = P^T dO,  dS = softmax'(P, dP),  dQ = dS K,  dK = dS^T Q,
 * five strided GEMMs and one softmax kernel; each writes its own columns of dqkv.
 * Rows of queries not computed (Tq < T) get zero query gradients.
 * `probabilityGradientCopy` ([B, H, Tq, T] f32), when given, receives dP before the softmax
 * kernel overwrites it with dS (explanations read dL/dP); without it nothing extra runs.
 */
export function attentionBackward(
  engine: GpuEngine,
  qkv: GpuTensor,
  probabilities: GpuTensor,
  dOut: GpuTensor,
  heads: number,
  label = 'attention-backward',
  probabilityGradientCopy?: GpuTensor,
): GpuTensor {
  const [B = 1, T = 1, threeD = 3] = qkv.shape;
  const D = threeD / 3;
  const H = heads;
  const Dh = D / H;
  const Tq = probabilities.shape[2] ?? T;
  const sequence = T * 3 * D;
  const probsPerSeq = H * Tq * T;
  const dqkv = engine.empty(qkv.shape);
  if (Tq < T) engine.clear(dqkv);
  const dP = engine.empty([B, H, Tq, T]);
  // dP = dO . V^T
  gemm(engine, {
    M: Tq, K: Dh, N: T, batch: B * H, innerCount: H,
    a: dOut, lda: D, aBatch: { outer: Tq * D, inner: Dh },
    b: qkv, ldbK: 1, ldbN: 3 * D, bBatch: { offset: 2 * D, outer: sequence, inner: Dh },
    out: dP, ldc: T, cBatch: { outer: probsPerSeq, inner: Tq * T },
    label: `${label}.dP`,
  });
  // dV = P^T . dO, into columns [2D, 3D)
  gemm(engine, {
    M: T, K: Tq, N: Dh, batch: B * H, innerCount: H,
    a: probabilities, lda: 1, ldaK: T, aBatch: { outer: probsPerSeq, inner: Tq * T },
    b: dOut, ldbK: D, ldbN: 1, bBatch: { outer: Tq * D, inner: Dh },
    out: dqkv, ldc: 3 * D, cBatch: { offset: 2 * D, outer: sequence, inner: Dh },
    label: `${label}.dV`,
  });
  if (probabilityGradientCopy) {
    if (probabilityGradientCopy.size !== dP.size) throw new Error(`${label}: the dP copy holds ${probabilityGradientCopy.size} values, dP ${dP.size}`);
    engine.copy(dP, 0, probabilityGradientCopy, 0, dP.size);
  }
  engine.dispatch({
    kernel: softmaxBackwardKernel,
    label: `${label}.softmax`,
    params: { rows: B * H * Tq, T, scale: 1 / Math.sqrt(Dh) },
    buffers: { P: probabilities, grad: dP },
    invocations: B * H * Tq,
  });
  // dQ = dS . K, into columns [0, D) of the first Tq rows
  gemm(engine, {
    M: Tq, K: T, N: Dh, batch: B * H, innerCount: H,
    a: dP, lda: T, aBatch: { outer: probsPerSeq, inner: Tq * T },
    b: qkv, ldbK: 3 * D, ldbN: 1, bBatch: { offset: D, outer: sequence, inner: Dh },
    out: dqkv, ldc: 3 * D, cBatch: { outer: sequence, inner: Dh },
    label: `${label}.dQ`,
  });
  // dK = dS^T . Q, into columns [D, 2D)
  gemm(engine, {
    M: T, K: Tq, N: Dh, batch: B * H, innerCount: H,
    a: dP, lda: 1, ldaK: T, aBatch: { outer: probsPerSeq, inner: Tq * T },
    b: qkv, ldbK: 3 * D, ldbN: 1, bBatch: { outer: sequence, inner: Dh },
    out: dqkv, ldc: 3 * D, cBatch: { offset: D, outer: sequence, inner: Dh },
    label: `${label}.dK`,
  });
  engine.release(dP);
  return dqkv;
}
