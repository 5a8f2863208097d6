#!/usr/bin/env bash
# GPU check in one short run, for a machine with no Node.js and no package manager: takes the
# portable archive (scripts/build-portable.sh), finds a Vulkan loader and driver, and runs
#   moxi doctor;
#   moxi bench on the bundled SET-SUM ViT and on a seeded random ViT-Tiny/16-224
#     (scripts/make-vit-tiny.mjs), f32 and f16 (f16 where the adapter has shader-f16),
#     fused attention on and off (MOXI_FUSED_ATTENTION=1 / 0);
#   moxi predict --json in each of those settings, every one checked against the unfused
#     f32 logits (max |delta logit| within a tolerance);
#   two MoXI explanations with their timings (the bundled demo; ViT-Tiny with --stop full);
# and writes one Markdown report. Exits 1 if a check failed, 2 on a usage error.
#
# usage: scripts/gpu-check.sh [ARCHIVE.tar.xz | EXTRACTED-FOLDER]
#   default archive: the newest dist/moxi-*-linux-x64.tar.xz beside this script
# Environment (all optional):
#   GPU_CHECK_REPORT     report path (default: $OUT/gpu-check-report.md if OUT is set, else
#                        ./gpu-check-report.md)
#   GPU_CHECK_GL_DIR     folder of Vulkan loader .debs to use when ldconfig knows no
#                        libvulkan.so.1 (default: .gl in the repository); they are unpacked
#                        into the temporary folder and put on LD_LIBRARY_PATH, not into /
#   GPU_CHECK_BATCH_SETSUM, GPU_CHECK_BATCH_VIT   bench batch sizes (default 1,64,256 and
#                        1,8,64 on a GPU; 1,16 and 1,4 on a software rasteriser)
#   GPU_CHECK_ITERATIONS timed passes per batch size (default 10 on a GPU, 2 on software)
#   GPU_CHECK_VIT_GRID   players of the ViT-Tiny explanation, G x G (default 7 on a GPU:
#                        1,225 coalitions, 1.0 TFLOP; 2 on software)
#   GPU_CHECK_TOL_F32, GPU_CHECK_TOL_F16   max |delta logit| allowed (default 1e-3, 2e-2)
#   GPU_CHECK_TIMEOUT    seconds any one command may take (default 240)
#   GPU_CHECK_KEEP=1     keep the temporary folder (printed)
set -uo pipefail

t_start=$(date +%s.%N)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

if [ $# -gt 1 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -gt 1 ] && exit 2 || exit 0
fi
archive=${1:-}
if [ -z "$archive" ]; then
  archive=$(ls -t "$repo"/dist/moxi-*-linux-x64.tar.xz 2>/dev/null | head -n 1)
  [ -n "$archive" ] || { echo "gpu-check: no archive given and none in $repo/dist (scripts/build-portable.sh builds it)" >&2; exit 2; }
fi
[ -e "$archive" ] || { echo "gpu-check: $archive does not exist" >&2; exit 2; }
archive=$(cd "$(dirname "$archive")" && pwd)/$(basename "$archive")

if [ -n "${GPU_CHECK_REPORT:-}" ]; then report=$GPU_CHECK_REPORT
elif [ -n "${OUT:-}" ]; then report=$OUT/gpu-check-report.md
else report=$PWD/gpu-check-report.md
fi
case $report in /*) ;; *) report=$PWD/$report ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/moxi-gpu-check.XXXXXX")
if [ "${GPU_CHECK_KEEP:-0}" = 1 ]; then echo "gpu-check: keeping $work" >&2
else trap 'rm -rf "$work"' EXIT
fi
results=$work/results.tsv
: >"$results"
timeout_s=${GPU_CHECK_TIMEOUT:-240}

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[%6ss] %s\n' "$(elapsed "$t_start")" "$*" >&2; }

# step NAME CMD...: runs CMD with stdout in $work/NAME.out and stderr in $work/NAME.err,
# records the exit status and wall time in results.tsv.
step() {
  local name=$1; shift
  local t0 rc secs
  t0=$(date +%s.%N)
  if command -v timeout >/dev/null; then
    timeout "$timeout_s" "$@" >"$work/$name.out" 2>"$work/$name.err"
  else
    "$@" >"$work/$name.out" 2>"$work/$name.err"
  fi
  rc=$?
  secs=$(elapsed "$t0")
  printf '%s\t%s\t%s\n' "$name" "$rc" "$secs" >>"$results"
  if [ "$rc" = 0 ]; then say "$name: ok (${secs} s)"
  else
    say "$name: FAILED, exit $rc (${secs} s); its stderr ends:"
    tail -n 5 "$work/$name.err" | sed 's/^/           /' >&2
  fi
  return "$rc"
}

# --- the archive ------------------------------------------------------------------------
if [ -d "$archive" ]; then
  top=$archive
else
  say "extracting $archive"
  tar -xJf "$archive" -C "$work" || { echo "gpu-check: cannot extract $archive" >&2; exit 2; }
  top=$(ls -d "$work"/moxi-*-linux-x64 | head -n 1)
fi
moxi=$top/bin/moxi
node=$top/lib/node/node
[ -x "$moxi" ] && [ -x "$node" ] || { echo "gpu-check: $top has no bin/moxi or lib/node/node" >&2; exit 2; }
demo=$top/lib/node_modules/@moxi/cli/dist/demo
setsum_model=$demo/models/setsum-vit
setsum_input=$demo/examples/setsum/000008.png

# --- Vulkan: loader, drivers ---------------------------------------------------------------
vk=$work/vulkan.txt
: >"$vk"
ldconfig_bin=$(command -v ldconfig || echo /sbin/ldconfig)
loader=$("$ldconfig_bin" -p 2>/dev/null | awk '/libvulkan\.so\.1 .*x86-64/ { print $NF; exit }')
if [ -n "$loader" ]; then
  echo "loader: $loader (system, ldconfig)" >>"$vk"
else
  gl_dir=${GPU_CHECK_GL_DIR:-$repo/.gl}
  if ls "$gl_dir"/*.deb >/dev/null 2>&1 && command -v dpkg >/dev/null; then
    for deb in "$gl_dir"/*.deb; do dpkg -x "$deb" "$work/gl"; done
    gl_lib=$work/gl/usr/lib/x86_64-linux-gnu
    export LD_LIBRARY_PATH=$gl_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    if [ -e "$gl_lib/libvulkan.so.1" ]; then
      echo "loader: $gl_lib/libvulkan.so.1 (unpacked from $(cd "$gl_dir" && echo *.deb); LD_LIBRARY_PATH)" >>"$vk"
    else
      echo "loader: none: ldconfig knows no libvulkan.so.1 and $gl_dir/*.deb holds none" >>"$vk"
    fi
  else
    echo "loader: none: ldconfig knows no libvulkan.so.1 and there are no .debs in $gl_dir (Debian/Ubuntu: libvulkan1)" >>"$vk"
  fi
fi
icds=$(ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json /usr/local/share/vulkan/icd.d/*.json 2>/dev/null | tr '\n' ' ')
echo "ICDs in the loader's folders: ${icds:-none}" >>"$vk"
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -n "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  echo "driver chosen by the caller: VK_DRIVER_FILES=${VK_DRIVER_FILES:-} VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-}" >>"$vk"
elif [ -e "$nvidia_icd" ] && ! printf '%s' "$icds" | grep -q nvidia; then
  export VK_DRIVER_FILES=$nvidia_icd VK_ICD_FILENAMES=$nvidia_icd
  echo "NVIDIA ICD: $nvidia_icd, outside the loader's folders: VK_DRIVER_FILES set to it" >>"$vk"
elif printf '%s' "$icds" | grep -q nvidia; then
  echo "NVIDIA ICD: in the loader's folders" >>"$vk"
else
  echo "NVIDIA ICD: none ($nvidia_icd absent)" >>"$vk"
fi
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$work/nvidia-smi.txt" 2>&1 || true
fi
sed 's/^/vulkan: /' "$vk" >&2

# --- machine ------------------------------------------------------------------------------
{
  echo "host: $(uname -srm)"
  echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null) ($(getconf _NPROCESSORS_ONLN 2>/dev/null) online)"
  echo "glibc: $(getconf GNU_LIBC_VERSION 2>/dev/null)"
  [ -s "$work/nvidia-smi.txt" ] && echo "nvidia-smi: $(cat "$work/nvidia-smi.txt")"
  echo "archive: $archive"
} >"$work/machine.txt"

# --- doctor ---------------------------------------------------------------------------------
step version "$moxi" --version
step doctor "$moxi" doctor --json
eval "$("$node" -e '
  try {
    const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`software=${d.adapter.isSoftware ? 1 : 0} f16=${d.features.shaderF16 ? 1 : 0}`);
  } catch { console.log("software=1 f16=0"); }' "$work/doctor.out")"
if [ "$software" = 1 ]; then
  batch_setsum=${GPU_CHECK_BATCH_SETSUM:-1,16}; batch_vit=${GPU_CHECK_BATCH_VIT:-1,4}
  iterations=${GPU_CHECK_ITERATIONS:-2}; warmup=1; vit_grid=${GPU_CHECK_VIT_GRID:-2}
  say "software adapter: small batches, ${iterations} timed passes"
else
  batch_setsum=${GPU_CHECK_BATCH_SETSUM:-1,64,256}; batch_vit=${GPU_CHECK_BATCH_VIT:-1,8,64}
  iterations=${GPU_CHECK_ITERATIONS:-10}; warmup=2; vit_grid=${GPU_CHECK_VIT_GRID:-7}
fi
if [ "$f16" = 1 ]; then precisions="f32 f16"; else precisions=f32; say "no shader-f16 on this adapter: f32 only"; fi

# --- models ---------------------------------------------------------------------------------
vit=$work/vit-tiny
vit_input=$work/vit-tiny-input.npy
step make-vit-tiny "$node" "$here/make-vit-tiny.mjs" "$vit" --input "$vit_input" --batch 4

for model in setsum vit-tiny; do
  if [ "$model" = setsum ]; then path=$setsum_model; input=$setsum_input; batches=$batch_setsum
  else path=$vit; input=$vit_input; batches=$batch_vit
  fi
  for fused in 0 1; do
    MOXI_FUSED_ATTENTION=$fused step "bench-$model-fused$fused" "$moxi" bench -m "$path" --batch "$batches" \
      --iterations "$iterations" --warmup "$warmup" --precision "$(echo $precisions | tr ' ' ,)" --json
  done
  for precision in $precisions; do
    for fused in 0 1; do
      MOXI_FUSED_ATTENTION=$fused step "predict-$model-$precision-fused$fused" "$moxi" predict -m "$path" -i "$input" \
        --precision "$precision" --topk 1 --json
    done
  done
done

# --- explanations ---------------------------------------------------------------------------
step explain-demo "$moxi" explain --json --out "$work/explain-demo.png"
step explain-vit-tiny "$moxi" explain -m "$vit" -i "$vit_input" --image-index 0 --grid "$vit_grid" --stop full \
  --json --out "$work/explain-vit-tiny.png"

# --- report ---------------------------------------------------------------------------------
total=$(elapsed "$t_start")
cat >"$work/report.mjs" <<'EOF'
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
const [work, reportPath, total, precisionsArg, software, tolF32, tolF16] = process.argv.slice(2);
const precisions = precisionsArg.split(' ');
const read = (f) => (existsSync(`${work}/${f}`) ? readFileSync(`${work}/${f}`, 'utf8') : '');
const json = (name) => { try { return JSON.parse(read(`${name}.out`)); } catch { return undefined; } };
const steps = new Map(read('results.tsv').trim().split('\n').filter(Boolean).map((l) => { const [n, rc, s] = l.split('\t'); return [n, { rc: Number(rc), seconds: Number(s) }]; }));
const checks = [];
const check = (name, pass, detail) => { checks.push({ name, pass, detail }); return pass; };
const stepCheck = (name, label) => { const s = steps.get(name); return check(label ?? name, s?.rc === 0, s ? (s.rc === 0 ? `${s.seconds.toFixed(1)} s` : `exit ${s.rc}${s.rc === 124 ? ' (timed out)' : ''}: ${lastLine(name)}`) : 'not run'); };
const lastLine = (name) => read(`${name}.err`).trim().split('\n').filter((l) => !l.startsWith('Warning: max')).slice(-1)[0] ?? '';
const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const out = [];

out.push('# moxi GPU check', '', `${new Date().toISOString()}; total ${total} s (target: under 5 minutes)`, '');
out.push('## Machine', '', '```', read('machine.txt').trim(), read('vulkan.txt').trim(), '```', '');

const doctor = json('doctor');
stepCheck('version', 'moxi --version');
stepCheck('doctor', 'moxi doctor');
out.push('## moxi doctor', '');
if (doctor) {
  const a = doctor.adapter;
  out.push(`- adapter: ${a.description || [a.vendor, a.architecture, a.device].filter(Boolean).join(' / ')} (${a.vendor} / ${a.architecture} / ${a.device}), ${a.isSoftware ? '**software rasteriser**' : 'hardware GPU'}`);
  out.push(`- version: moxi ${read('version.out').trim()}`);
  out.push(`- features: shader-f16 ${doctor.features.shaderF16}, subgroups ${doctor.features.subgroups}, timestamp-query ${doctor.features.timestampQuery}`);
  out.push(`- limits: ${Object.entries(doctor.limits).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push(`- attention by default: ${doctor.attention}`);
  out.push(`- Vulkan ICDs doctor sees: ${doctor.vulkanDrivers.join(', ') || 'none'}`);
  out.push(`- matmul ceiling: **${f(doctor.matmulCeiling.gflopsPerSecond, 1)} GFLOP/s** (${doctor.matmulCeiling.shapes.map((s) => `${s.M}x${s.K}x${s.N} ${f(s.gflopsPerSecond, 1)}`).join(', ')})`);
  for (const w of doctor.warnings) out.push(`- warning: ${w}`);
  const gpuPresent = read('machine.txt').includes('nvidia-smi:');
  if (gpuPresent) check('hardware adapter where nvidia-smi sees a GPU', !a.isSoftware, a.isSoftware ? 'Dawn fell back to a software rasteriser: the Vulkan loader or the NVIDIA ICD is missing' : a.description || a.device);
} else out.push('doctor failed: ' + lastLine('doctor'));
out.push('');
if (!precisions.includes('f16')) out.push('f16: **skipped**, the adapter has no shader-f16.', '');

for (const [model, label] of [['setsum', 'SET-SUM ViT (bundled demo, 56x56, 4 blocks)'], ['vit-tiny', 'ViT-Tiny/16-224 (seeded random weights, 12 blocks, 1000 classes)']]) {
  out.push(`## ${label}`, '', '### bench', '');
  out.push('| attention | precision | batch | images/s | GFLOP/s | of ceiling | ms/batch median (min..max) |', '| --- | --- | ---: | ---: | ---: | ---: | --- |');
  for (const fused of ['0', '1']) {
    const name = `bench-${model}-fused${fused}`;
    stepCheck(name, `bench ${model}, ${fused === '1' ? 'fused' : 'unfused'} attention`);
    const b = json(name);
    if (!b) { out.push(`| ${fused === '1' ? 'fused' : 'unfused'} | failed: ${lastLine(name).replace(/\|/g, '/')} | | | | | |`); continue; }
    for (const r of b.results) {
      out.push(`| ${fused === '1' ? 'fused' : 'unfused'} | ${r.precision} | ${r.batch} | ${f(r.imagesPerSecond)} | ${f(r.gflopsPerSecond)} | ${f(100 * r.shareOfCeiling, 0)}% | ${f(r.msPerBatch.median, 1)} (${f(r.msPerBatch.min, 1)}..${f(r.msPerBatch.max, 1)}) |`);
    }
  }
  const b0 = json(`bench-${model}-fused0`);
  if (b0) out.push('', `${b0.model.architecture}, ${b0.model.parameters?.toLocaleString?.('en') ?? b0.model.parameters} parameters, ${f(b0.model.gflopsPerImage, 3)} GFLOP per image; each bench run measured its own matmul ceiling (${f(b0.matmulCeiling.gflopsPerSecond, 1)} GFLOP/s unfused run).`);
  out.push('', '### logits against the unfused f32 path (moxi predict --json)', '');
  out.push('| precision | attention | max abs delta logit | tolerance | top-1 as reference | result |', '| --- | --- | ---: | ---: | --- | --- |');
  const ref = json(`predict-${model}-f32-fused0`);
  stepCheck(`predict-${model}-f32-fused0`, `predict ${model} f32 unfused (reference)`);
  const refLogits = ref?.logits;
  if (refLogits) out.push(`| f32 | unfused | reference (${refLogits.length} image${refLogits.length > 1 ? 's' : ''} x ${refLogits[0].length} classes, max abs logit ${f(Math.max(...refLogits.flat().map(Math.abs)), 3)}) | | | |`);
  for (const precision of precisions) {
    for (const fused of ['0', '1']) {
      if (precision === 'f32' && fused === '0') continue;
      const name = `predict-${model}-${precision}-fused${fused}`;
      const attention = fused === '1' ? 'fused' : 'unfused';
      const tol = Number(precision === 'f16' ? tolF16 : tolF32);
      const p = json(name);
      if (!p || !refLogits) {
        check(`${model} ${precision} ${attention} vs unfused f32`, false, p ? 'no reference' : lastLine(name));
        out.push(`| ${precision} | ${attention} | failed: ${(p ? 'no reference' : lastLine(name)).replace(/\|/g, '/')} | ${tol} | | **FAIL** |`);
        continue;
      }
      let max = 0;
      let sameTop = 0;
      const argmax = (row) => row.indexOf(Math.max(...row));
      p.logits.forEach((row, r) => {
        row.forEach((v, i) => { const d = Math.abs(v - refLogits[r][i]); max = Number.isNaN(d) ? NaN : Math.max(max, d); });
        if (argmax(row) === argmax(refLogits[r])) sameTop++;
      });
      const pass = check(`${model} ${precision} ${attention} vs unfused f32`, max <= tol, `max |delta logit| ${max.toExponential(2)} (tolerance ${tol})`);
      out.push(`| ${precision} | ${attention} | ${max.toExponential(2)} | ${tol} | ${sameTop}/${p.logits.length} | ${pass ? 'pass' : '**FAIL**'} |`);
    }
  }
  out.push('');
}

out.push('## MoXI explanations', '', '| explanation | grid | stop | coalitions | GFLOP planned | explain s (in moxi) | wall s (process) | result |', '| --- | --- | --- | ---: | ---: | ---: | ---: | --- |');
for (const [name, label] of [['explain-demo', 'bundled SET-SUM demo (moxi explain)'], ['explain-vit-tiny', 'ViT-Tiny, image 0 of the seeded batch']]) {
  const pass = stepCheck(name, `${label}`);
  const e = json(name);
  const s = steps.get(name);
  if (e) out.push(`| ${label}: ${e.method}, predicted ${e.predicted}, order ${e.order.slice(0, 8).join(',')}${e.order.length > 8 ? ',…' : ''} | ${e.grid.join('x')} | ${e.stopStep !== undefined ? `step ${e.stopStep}` : ''} | ${e.evaluations} | ${f(e.planned?.gflop, 1)} | ${f(e.seconds, 2)} | ${f(s?.seconds, 1)} | ${pass ? 'pass' : '**FAIL**'} |`);
  else out.push(`| ${label} | | | | | | ${f(s?.seconds, 1)} | **FAIL**: ${lastLine(name).replace(/\|/g, '/')} |`);
}
out.push('');
stepCheck('make-vit-tiny', 'make-vit-tiny.mjs (the archive\'s node)');

const failed = checks.filter((c) => !c.pass);
out.push('## Checks', '', `**${failed.length ? `FAIL: ${failed.length} of ${checks.length} checks failed` : `PASS: all ${checks.length} checks`}**${software === '1' ? ' (on a software rasteriser)' : ''}`, '');
for (const c of checks) out.push(`- ${c.pass ? 'pass' : '**FAIL**'}: ${c.name}${c.detail ? ` (${c.detail})` : ''}`);
out.push('');
writeFileSync(reportPath, out.join('\n'));
console.log(failed.length ? `FAIL: ${failed.length} of ${checks.length} checks failed` : `PASS: all ${checks.length} checks`);
process.exit(failed.length ? 1 : 0);
EOF
mkdir -p "$(dirname "$report")"
"$node" "$work/report.mjs" "$work" "$report" "$total" "$precisions" "$software" "${GPU_CHECK_TOL_F32:-1e-3}" "${GPU_CHECK_TOL_F16:-2e-2}"
status=$?
say "report: $report"
exit "$status"
