import type { GpuEngine } from '../gpu/engine.ts';
import { floatType, type GpuTensor } from '../gpu/gpu-tensor.ts';
import { kernelConst, workgroupSize } from '../gpu/kernel-spec.ts';
import { matmulKernel, typedKernel } from '../shaders/index.ts';

export type Activation = 'none' | 'gelu' | 'relu';

const ACTIVATION_CODE: Record<Activation, number> = { none: 0, gelu: 1, relu: 2 };
/** The outputs one invocation of matmul.wgsl owns: ROWS x COLS. */
const ROWS_PER_INVOCATION = kernelConst(matmulKernel, 'ROWS');
const COLUMNS_PER_INVOCATION = kernelConst(matmulKernel, 'COLS');

/** Where a batch entry's matrix starts: offset + outer * outerStride + inner * innerStride. */
export interface BatchLayout {
  offset?: number;
  outer?: number;
  inner?: number;
}

/**
 * A strided batched product C[z] = A[z] . B[z] with z = outer * innerCount + inner.
 * Strides are in elements; A is read along k contiguously, B along both axes by stride.
 */
export interface Gemm {
  M: number;
  K: number;
  N: number;
  batch?: number;
  innerCount?: number;
  a: GpuTensor;
  /** A's stride along m (rows); along k it is ldaK (default 1). */
  lda: number;
  ldaK?: number;
  aBatch?: BatchLayout;
  b: GpuTensor;
  ldbK: number;
  ldbN: number;
  bBatch?: BatchLayout;
  out: GpuTensor;
  ldc: number;
  cBatch?: BatchLayout;
  bias?: GpuTensor;
  activation?: Activation;
  /** Added after the activation, laid out like C: a transformer's residual connection. */
  residual?: GpuTensor;
  label?: string;
}

/** B can be read 4 floats at a time: contiguous along n and every row start 16-byte aligned. */
function vectorizableB(g: Gemm): boolean {
  const aligned = (v: number | undefined) => (v ?? 0) % 4 === 0;
  return g.ldbN === 1 && g.N % 4 === 0 && aligned(g.ldbK) && aligned(g.bBatch?.offset) && aligned(g.bBatch?.outer) && aligned(g.bBatch?.inner);
}

/** The most output columns one product can have: its columns are spread over one dimension of workgroups. */
export function largestProductColumns(limits: { maxComputeWorkgroupsPerDimension: number }): number {
  return limits.maxComputeWorkgroupsPerDimension * workgroupSize(matmulKernel)[0] * COLUMNS_PER_INVOCATION;
}

export function gemm(engine: GpuEngine, g: Gemm): void {
  const batch = g.batch ?? 1;
  const dtype = floatType(g.out);
  const mixed = [g.a, g.b, g.bias, g.residual].find((t) => t !== undefined && floatType(t) !== dtype);
  if (mixed) throw new Error(`${g.label ?? 'matmul'}: operand [${mixed.shape}] is ${floatType(mixed)}, the output ${dtype}; one precision per product`);
  const vecB = vectorizableB(g);
  engine.dispatch({
    kernel: typedKernel(matmulKernel, dtype),
    label: g.label ?? 'matmul',
    constants: {
      HAS_BIAS: g.bias !== undefined,
      ACTIVATION: ACTIVATION_CODE[g.activation ?? 'none'],
      HAS_RESIDUAL: g.residual !== undefined,
      VEC_B: vecB,
    },
    params: {
      M: g.M, K: g.K, N: g.N,
      lda: g.lda, ldaK: g.ldaK ?? 1, ldbK: g.ldbK, ldbN: g.ldbN, ldc: g.ldc,
      inner: g.innerCount ?? 1,
      aOffset: g.aBatch?.offset ?? 0, aOuter: g.aBatch?.outer ?? 0, aInner: g.aBatch?.inner ?? 0,
      bOffset: g.bBatch?.offset ?? 0, bOuter: g.bBatch?.outer ?? 0, bInner: g.bBatch?.inner ?? 0,
      cOffset: g.cBatch?.offset ?? 0, cOuter: g.cBatch?.outer ?? 0, cInner: g.cBatch?.inner ?? 0,
    },
    // B4 is B again, read four columns at a time where VEC_B allows.
    buffers: { A: g.a, B: g.b, bias: g.bias, residual: g.residual, C: g.out, B4: g.b },
    invocations: [Math.ceil(g.N / COLUMNS_PER_INVOCATION), Math.ceil(g.M / ROWS_PER_INVOCATION), batch],
  });
}

export interface MatmulOptions {
  /** Number of independent products; an operand holding a single matrix is broadcast. */
  batch?: number;
  bias?: GpuTensor;
  activation?: Activation;
  residual?: GpuTensor;
  label?: string;
}

/** c[z] = act(a[z] . b[z] + bias) + residual[z] with a [batch?, M, K], b [batch?, K, N]. */
export function matmul(engine: GpuEngine, a: GpuTensor, b: GpuTensor, M: number, K: number, N: number, options: MatmulOptions = {}): GpuTensor {
  const batch = options.batch ?? 1;
  const aStride = a.size === M * K ? 0 : M * K;
  const bStride = b.size === K * N ? 0 : K * N;
  if (a.size !== M * K * (aStride ? batch : 1) || b.size !== K * N * (bStride ? batch : 1)) {
    throw new Error(`matmul: operands [${a.shape}] and [${b.shape}] do not fit ${batch} x ${M}x${K} . ${K}x${N}`);
  }
  if (options.residual && options.residual.size !== batch * M * N) {
    throw new Error(`matmul: residual [${options.residual.shape}] does not fit ${batch} x ${M}x${N}`);
  }
  const out = engine.empty(batch === 1 ? [M, N] : [batch, M, N], floatType(a));
  gemm(engine, {
    M, K, N, batch,
    a, lda: K, aBatch: { outer: aStride },
    b, ldbK: N, ldbN: 1, bBatch: { outer: bStride },
    out, ldc: N, cBatch: { outer: M * N },
    ...(options.bias ? { bias: options.bias } : {}),
    ...(options.residual ? { residual: options.residual } : {}),
    activation: options.activation ?? 'none',
    label: options.label ?? 'matmul',
  });
  return out;
}

/** A linear layer's weights as the kernels want them: W transposed to [in, out]. */
export interface LinearWeights {
  weight: GpuTensor;
  bias?: GpuTensor;
  inFeatures: number;
  outFeatures: number;
}

/** y = act(x . W^T + b) (+ residual) over the last dimension of x. */
export function linear(
  engine: GpuEngine,
  x: GpuTensor,
  layer: LinearWeights,
  options: Omit<MatmulOptions, 'batch' | 'bias'> = {},
): GpuTensor {
  const K = layer.inFeatures;
  const rows = x.size / K;
  if (!Number.isInteger(rows)) throw new Error(`linear: input [${x.shape}] is not a multiple of ${K}`);
  const y = matmul(engine, x, layer.weight, rows, K, layer.outFeatures, { ...options, ...(layer.bias ? { bias: layer.bias } : {}) });
  return y.view([...x.shape.slice(0, -1), layer.outFeatures]);
}

/** dx = dy . W^T: the input gradient of a linear layer (W stored [in, out]). */
export function linearBackward(engine: GpuEngine, dy: GpuTensor, layer: LinearWeights, label = 'linear-backward'): GpuTensor {
  const N = layer.outFeatures;
  const K = layer.inFeatures;
  const rows = dy.size / N;
  const dx = engine.empty([...dy.shape.slice(0, -1), K]);
  gemm(engine, { M: rows, K: N, N: K, a: dy, lda: N, b: layer.weight, ldbK: 1, ldbN: N, out: dx, ldc: K, label });
  return dx;
}
