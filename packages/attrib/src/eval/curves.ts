import type { Attribution } from '../attribution.ts';
import { allPlayers, complement, type CoalitionGame } from '../game.ts';

/**
 * The ranking a method gives (docs/evaluation.md, "Methods and their orders"): MoXI's own order, or
 * the scores sorted descending (ties: lowest index first).
 */
export function ranking(a: Attribution): number[] {
  if (a.order && a.order.length === a.scores.length) return [...a.order];
  return allPlayers(a.scores.length).sort((i, j) => a.scores[j]! - a.scores[i]! || i - j);
}

export interface PatchCurve {
  /** Top-1 class after j = 0..N patches inserted (insertion) or removed (deletion). */
  top1: number[];
  /** Target probability at each j. */
  targetProbability: number[];
}

export interface PatchCurves {
  insertion: PatchCurve;
  deletion: PatchCurve;
}

/** The two orders a curve pair follows: insertion adds the first j of one, deletion removes the first j of the other. */
export interface CurveOrders {
  insertionOrder: readonly number[];
  deletionOrder: readonly number[];
}

/**
 * Insertion keeps the first j players of `insertionOrder`; deletion removes the first j of
 * `deletionOrder`. 2(N + 1) evaluations per pair of orders, all in one call.
 */
export async function patchCurvesOfOrders(game: CoalitionGame, orders: readonly CurveOrders[]): Promise<PatchCurves[]> {
  const N = game.players;
  const prefixes = (order: readonly number[]) => Array.from({ length: N + 1 }, (_, j) => order.slice(0, j));
  const coalitions = orders.flatMap((o) => [...prefixes(o.insertionOrder), ...prefixes(o.deletionOrder).map((p) => complement(N, p))]);
  const v = await game.evaluate(coalitions);
  const curve = (from: number): PatchCurve => ({
    top1: Array.from(v.top1.subarray(from, from + N + 1)),
    targetProbability: Array.from(v.targetProbability.subarray(from, from + N + 1)),
  });
  return orders.map((_, k) => ({ insertion: curve(2 * k * (N + 1)), deletion: curve((2 * k + 1) * (N + 1)) }));
}

/** Insertion and deletion curves of one ranking (or of an insertion and a deletion order). */
export async function patchCurves(game: CoalitionGame, insertionOrder: readonly number[], deletionOrder = insertionOrder): Promise<PatchCurves> {
  return (await patchCurvesOfOrders(game, [{ insertionOrder, deletionOrder }]))[0]!;
}

/** Area under a curve sampled at x = j / N for j = 0..N (trapezoid rule, range [0, 1]). */
export function curveArea(values: readonly number[]): number {
  const N = values.length - 1;
  if (N < 1) return values[0] ?? 0;
  let area = 0;
  for (let j = 0; j < N; j++) area += (values[j]! + values[j + 1]!) / 2 / N;
  return area;
}

/** First j at which the insertion curve's prediction is `label` (N + 1 if never). */
export function patchesUntilCorrect(curve: PatchCurve, label: number): number {
  const j = curve.top1.findIndex((c) => c === label);
  return j < 0 ? curve.top1.length : j;
}

/** First j at which the deletion curve's prediction is no longer `label` (N + 1 if never). */
export function patchesUntilWrong(curve: PatchCurve, label: number): number {
  const j = curve.top1.findIndex((c) => c !== label);
  return j < 0 ? curve.top1.length : j;
}
