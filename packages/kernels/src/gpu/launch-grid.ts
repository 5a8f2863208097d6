/**
 * How many invocations a dispatch runs. A number is a flat range: the kernel recovers its
 * index as gid.x + gid.y * num_workgroups.x * workgroup size, so a range past one grid
 * dimension folds into y. A tuple counts invocations per dimension, for kernels that read
 * gid.x, gid.y and gid.z as separate axes (unwritten counts are 1).
 */
export type Invocations = number | readonly [number, number?, number?];

/**
 * The workgroups that cover `invocations` with workgroups of `size` (`label` names the
 * dispatch in errors): whole workgroups per
 * dimension, the last one partly idle (kernels bound-check). A flat range folds into y
 * because a dimension holds at most `maxPerDimension` workgroups (65,535 on most
 * adapters); it needs a one-dimensional workgroup.
 */
export function workgroupGrid(label: string, invocations: Invocations, size: readonly [number, number, number], maxPerDimension: number): [number, number, number] {
  if (typeof invocations === 'number') {
    if (size[1] !== 1 || size[2] !== 1) throw new Error(`${label}: a flat range of invocations needs a one-dimensional workgroup, not ${size.join('x')}; give a count per dimension`);
    const groups = Math.ceil(invocations / size[0]);
    if (groups <= maxPerDimension) return [groups, 1, 1];
    const y = Math.ceil(groups / maxPerDimension);
    return [Math.ceil(groups / y), y, 1];
  }
  const [x, y = 1, z = 1] = invocations;
  return [Math.ceil(x / size[0]), Math.ceil(y / size[1]), Math.ceil(z / size[2])];
}
