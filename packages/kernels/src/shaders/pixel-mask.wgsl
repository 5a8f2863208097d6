// Builds the masked images of a batch of coalitions (ALGORITHMS.md, pixel mode): row r
// shows image rowImage[r] with the pixels of removed grid cells set to 0 in the
// normalised space. One input image can feed many rows, so B masked copies are made on
// the GPU from one upload. Output layout NHWC (OUTPUT_NHWC, for convolutions) or NCHW
// (for a ViT's patch embedding). Bindings: 0 params, 1 images [N, C, H, W],
// 2 rowImage [R] u32, 3 keep [R, gridH * gridW] u32 (1 = cell shown), 4 out.
// Invocations: one per output element, R * C * H * W as a flat range.

override OUTPUT_NHWC: bool = true;

struct Params {
  total: u32,
  C: u32,
  H: u32,
  W: u32,
  gridH: u32,
  gridW: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> images: array<f32>;
@group(0) @binding(2) var<storage, read> rowImage: array<u32>;
@group(0) @binding(3) var<storage, read> keep: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.total) {
    return;
  }
  var r: u32;
  var c: u32;
  var y: u32;
  var x: u32;
  if (OUTPUT_NHWC) {
    c = i % p.C;
    let pixel = i / p.C;
    x = pixel % p.W;
    let rest = pixel / p.W;
    y = rest % p.H;
    r = rest / p.H;
  } else {
    x = i % p.W;
    let rest = i / p.W;
    y = rest % p.H;
    let plane = rest / p.H;
    c = plane % p.C;
    r = plane / p.C;
  }
  let cell = (y / (p.H / p.gridH)) * p.gridW + x / (p.W / p.gridW);
  let shown = keep[r * p.gridH * p.gridW + cell] != 0u;
  let value = images[((rowImage[r] * p.C + c) * p.H + y) * p.W + x];
  out[i] = select(0.0, value, shown);
}
