// Attention in one dispatch, for a tile of QUERY_TILE queries of one (sequence, head) per workgroup:
//   out[b, q, h Dh + d] = sum_j softmax_j(scale q.k_j; keys with keyKeep[b, j] = 0 removed) v_j[d]
// from the fused qkv [B, T, 3, H, Dh] (timm's layout), without ever writing the scores.
// The softmax is online: each query keeps the running maximum m and sum l of its
// weights and rescales its accumulator when m grows, so one pass over the keys suffices.
// Keys and values come through workgroup memory, KEYS_PER_TILE at a time, loaded once for
// the QUERY_TILE queries that use them. DH4 = Dh / 4 and KEYS_PER_TILE are written into the source
// when the kernel is made, and every line with {d} is written once per vec4 of a head
// (d = 0 .. DH4 - 1): the query and its accumulator live in registers, not in an array
// indexed at run time (which software rasterisers keep in memory); see fusedAttentionKernel.
// Bindings: 0 params, 1 keyKeep [B, T] u32 (dummy unless HAS_KEY_MASK), 2 qkv as vec4,
// 3 result [B, Tq, D] as vec4. Invocations: (Tq, B * H), one per query of each (sequence, head).

override HAS_KEY_MASK: bool = false;
const DH4: u32 = __DH4__u;
const KEYS_PER_TILE: u32 = __KEYS_PER_TILE__u;
// Queries per workgroup, one per invocation.
const QUERY_TILE: u32 = 64u;

// The storage element type of activations and weights: f32, or f16 in the kernel's f16
// variant (typedKernel); arithmetic is f32 either way.
alias Float = f32;

struct Params {
  T: u32,
  Tq: u32,
  H: u32,
  D4: u32, // D / 4: vec4s per q, k or v row
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> keyKeep: array<u32>;
@group(0) @binding(2) var<storage, read> qkv: array<vec4<Float>>;
@group(0) @binding(3) var<storage, read_write> result: array<vec4<Float>>;

var<workgroup> keys: array<vec4<f32>, KEYS_PER_TILE * DH4>;
var<workgroup> values: array<vec4<f32>, KEYS_PER_TILE * DH4>;
var<workgroup> visible: array<u32, KEYS_PER_TILE>;

@compute @workgroup_size(QUERY_TILE)
fn main(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let b = wg.y / p.H;
  let head = (wg.y % p.H) * DH4;
  let query = wg.x * QUERY_TILE + lane;
  let hasQuery = query < p.Tq;
  let row = 3u * p.D4; // vec4s per token of qkv
  let sequence = b * p.T * row;

  let own = sequence + query * row + head;
  var q{d} = vec4<f32>(0.0);
  var acc{d} = vec4<f32>(0.0);
  if (hasQuery) {
    q{d} = vec4<f32>(qkv[own + {d}u]) * p.scale;
  }
  var m = -3.0e38;
  var l = 0.0;
  for (var first = 0u; first < p.T; first += KEYS_PER_TILE) {
    for (var i = lane; i < KEYS_PER_TILE * DH4; i += QUERY_TILE) {
      let j = first + i / DH4;
      if (j < p.T) {
        let at = sequence + j * row + head + i % DH4;
        keys[i] = vec4<f32>(qkv[at + p.D4]);
        values[i] = vec4<f32>(qkv[at + 2u * p.D4]);
      }
    }
    if (lane < KEYS_PER_TILE) {
      let j = first + lane;
      var shown = j < p.T;
      if (HAS_KEY_MASK && shown) {
        shown = keyKeep[b * p.T + j] != 0u;
      }
      visible[lane] = select(0u, 1u, shown);
    }
    workgroupBarrier();
    if (hasQuery) {
      for (var t = 0u; t < KEYS_PER_TILE; t++) {
        if (visible[t] == 0u) {
          continue;
        }
        let k = t * DH4;
        var s = 0.0;
        s += dot(q{d}, keys[k + {d}u]);
        if (s > m) {
          // A new maximum: what was summed so far shrinks by exp(m_old - m_new).
          let shrink = exp(m - s);
          l *= shrink;
          acc{d} *= shrink;
          m = s;
        }
        let w = exp(s - m);
        l += w;
        acc{d} += w * values[k + {d}u];
      }
    }
    workgroupBarrier();
  }
  if (hasQuery) {
    // A row always has a visible key (prefix tokens are never masked), so l > 0.
    let inv = 1.0 / l;
    let at = (b * p.Tq + query) * p.D4 + head;
    result[at + {d}u] = vec4<Float>(acc{d} * inv);
  }
}
