import { solveAugmented } from './analytic-game.ts';

// KernelSHAP's and LIME's fits solved another way than the methods solve them, in float64:
// what the tests compare the methods with, given the same coalitions and values.

/**
 * The reference fit, solved another way: the KKT system of the constrained weighted least
 * squares (N unknowns and a Lagrange multiplier), in float64 with Gauss-Jordan elimination.
 */
export function referenceKernelShapFit(N: number, coalitions: number[][], weights: number[], values: number[], v0: number, vN: number): number[] {
  const size = N + 1;
  const K = Array.from({ length: size }, () => new Array<number>(size + 1).fill(0));
  coalitions.forEach((c, k) => {
    for (const i of c) {
      K[i]![size]! += weights[k]! * (values[k]! - v0);
      for (const j of c) K[i]![j]! += weights[k]!;
    }
  });
  for (let i = 0; i < N; i++) K[i]![N] = K[N]![i] = 1;
  K[N]![size] = vN - v0;
  return solveAugmented(K).slice(0, N);
}

/**
 * The reference ridge fit solved another way: the (N + 1)-unknown normal equations with an
 * intercept column that the penalty leaves out, no centring, Gauss-Jordan in float64.
 */
export function referenceRidge(N: number, coalitions: number[][], weights: number[], values: number[], alpha: number): { coefficients: number[]; intercept: number } {
  const size = N + 1;
  const M = Array.from({ length: size }, () => new Array<number>(size + 1).fill(0));
  coalitions.forEach((c, k) => {
    const x = [1, ...Array.from({ length: N }, (_, i) => (c.includes(i) ? 1 : 0))];
    for (let i = 0; i < size; i++) {
      M[i]![size]! += weights[k]! * x[i]! * values[k]!;
      for (let j = 0; j < size; j++) M[i]![j]! += weights[k]! * x[i]! * x[j]!;
    }
  });
  for (let i = 1; i < size; i++) M[i]![i]! += alpha;
  const x = solveAugmented(M);
  return { intercept: x[0]!, coefficients: x.slice(1) };
}
