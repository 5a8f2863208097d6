// Global average pooling, NHWC -> [B, C], one invocation per output element, summed in
// f32 in pixel order. Bindings: 0 params, 1 input [B, H, W, C], 2 out [B, C].
// Invocations: B * C, as a flat range.

struct Params {
  total: u32,
  pixels: u32,
  C: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 64u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.total) {
    return;
  }
  let n = i / p.C;
  let c = i - n * p.C;
  var sum = 0.0;
  let base = n * p.pixels * p.C + c;
  for (var q = 0u; q < p.pixels; q++) {
    sum += input[base + q * p.C];
  }
  out[i] = sum / f32(p.pixels);
}
