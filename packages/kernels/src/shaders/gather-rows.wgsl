// Row gather: out[r] = src[index[r]] for rows of D floats; index 0xffffffff writes a row
// of zeros (padding). Token masking uses it to build [R, T, D] sequences from the patch
// embeddings of the images, which are computed once and shared by every keep-row.
// Bindings: 0 params, 1 src [*, D], 2 index [rows] u32, 3 out [rows, D].
// Invocations: one per output element, rows * D as a flat range.

// The storage element type of activations and weights: f32, or f16 in the kernel's f16
// variant (typedKernel); arithmetic is f32 either way.
alias Float = f32;

struct Params {
  rows: u32,
  D: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<Float>;
@group(0) @binding(2) var<storage, read> index: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<Float>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.rows * p.D) {
    return;
  }
  let row = i / p.D;
  let col = i - row * p.D;
  let source = index[row];
  if (source == 0xffffffffu) {
    out[i] = Float(0.0);
  } else {
    out[i] = src[source * p.D + col];
  }
}
