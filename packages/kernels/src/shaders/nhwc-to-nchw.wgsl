// Layout change NHWC -> NCHW (a convolutional model's input gradient, back in the layout
// users give images in). Bindings: 0 params, 1 x [B, H, W, C], 2 out [B, C, H, W].
// Invocations: total, as a flat range.

struct Params {
  total: u32,
  C: u32,
  pixels: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.total) {
    return;
  }
  let q = i % p.pixels;
  let plane = i / p.pixels;
  let c = plane % p.C;
  let n = plane / p.C;
  out[i] = x[(n * p.pixels + q) * p.C + c];
}
