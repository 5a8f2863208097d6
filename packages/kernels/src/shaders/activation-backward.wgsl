// Elementwise activation gradient: dx = dy * act'(v). GELU (erf) takes v = the
// pre-activation; ReLU takes v = its output (positive exactly where the input was, and
// PyTorch's gradient at 0 is 0). Bindings: 0 params, 1 v, 2 dy, 3 dx.
// Grid: x * y * 256 >= n (see grid2d).

override ACTIVATION: u32 = 1u; // 1 GELU from the pre-activation, 2 ReLU from the output

struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn erf_approx(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return sign(x) * y;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * 256u;
  if (i >= p.n) {
    return;
  }
  let x = v[i];
  if (ACTIVATION == 1u) {
    // d/dx [x Phi(x)] = Phi(x) + x phi(x)
    let cdf = 0.5 * (1.0 + erf_approx(x * 0.70710678118654752));
    let pdf = 0.39894228040143268 * exp(-0.5 * x * x);
    dx[i] = dy[i] * (cdf + x * pdf);
  } else {
    dx[i] = select(0.0, dy[i], x > 0.0);
  }
}
