// Gradient of a row gather: out[s] = sum of dy[r] over the rows r that gathered source
// row s. The inverse of the gather index comes as CSR (offsets [sources + 1], rows), built
// on the host, so no float atomics are needed. Bindings: 0 params, 1 dy [R, D],
// 2 offsets u32, 3 rows u32, 4 out [sources, D].
// Invocations: one per output element, sources * D as a flat range.

struct Params {
  sources: u32,
  D: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read> rows: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.sources * p.D) {
    return;
  }
  let s = i / p.D;
  let d = i - s * p.D;
  var sum = 0.0;
  for (var k = offsets[s]; k < offsets[s + 1u]; k++) {
    sum += dy[rows[k] * p.D + d];
  }
  out[i] = sum;
}
