/**
 * Solves A x = b in float64 by Gauss-Jordan elimination with partial pivoting (the small
 * normal equations of KernelSHAP and LIME: one unknown per player). Undefined when a pivot
 * vanishes (below 1e-12): the system does not determine x.
 */
export function solveLinear(A: ReadonlyArray<ArrayLike<number>>, b: ArrayLike<number>): number[] | undefined {
  const n = b.length;
  const a = Array.from({ length: n }, (_, i) => [...Array.from(A[i]!), b[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    if (Math.abs(a[pivot]![col]!) < 1e-12) return undefined;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r]![col]! / a[col]![col]!;
      if (f !== 0) for (let k = col; k <= n; k++) a[r]![k]! -= f * a[col]![k]!;
    }
  }
  return a.map((row, i) => row[n]! / row[i]!);
}
