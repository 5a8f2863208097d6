// Elementwise activations for the gradient pass, where the pre-activation must be kept:
//   MODE 0: out = GELU(v)                    (forward, v = pre-activation)
//   MODE 1: out = dy * GELU'(v)              (v = pre-activation)
//   MODE 2: out = dy * [v > 0]               (ReLU, v = its output: positive exactly where
//                                             the input was; PyTorch's gradient at 0 is 0)
// Bindings: 0 params, 1 v, 2 dy (dummy in MODE 0), 3 out. Invocations: n, as a flat range.

override MODE: u32 = 1u;

struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// The same erf as matmul.wgsl's fused GELU epilogue, so both paths agree.
fn erf_approx(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return sign(x) * y;
}

// Invocations per workgroup; the flat index folds gid.y in by it.
const WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.n) {
    return;
  }
  let x = v[i];
  let cdf = 0.5 * (1.0 + erf_approx(x * 0.70710678118654752));
  if (MODE == 0u) {
    out[i] = x * cdf;
  } else if (MODE == 1u) {
    // d/dx [x Phi(x)] = Phi(x) + x phi(x)
    out[i] = dy[i] * (cdf + x * 0.39894228040143268 * exp(-0.5 * x * x));
  } else {
    out[i] = select(0.0, dy[i], x > 0.0);
  }
}
