#!/usr/bin/env bash
# Publishes @moxi/kernels, @moxi/attrib and @moxi/cli to a local registry (verdaccio on
# 127.0.0.1, no uplink) and uses them as a consumer would, each from a fresh folder outside
# the repository that takes only the @moxi scope from that registry (everything else from
# the machine's configured one):
#   node        examples/consumers/node-explain: npm install, node explain.mjs MODEL IMAGE
#   vite        examples/consumers/vite-app: npm install, vite build, the page in headless Chromium
#   typescript  examples/consumers/typescript: npm install, tsc (strict, exactOptionalPropertyTypes)
#   cli         npm install -g --prefix: moxi --version, moxi explain in an empty folder
#   portable    dist/moxi-VERSION-linux-x64.tar.xz (built if missing): moxi explain, no node on PATH
# It lists each tarball's size and files (and fails on tests, fixtures or tsconfig in one),
# prints a line per consumer and exits non-zero if any failed. ~/.npmrc is only read.
#
# usage: scripts/registry-check.sh
#   MOXI_CONSUMERS="node vite"   check only these (default: node vite typescript cli portable)
#   MOXI_KEEP_WORK=1             keep the temporary folder (registry storage, consumers) for a look
#   MOXI_REUSE_ARCHIVE=1         use dist/moxi-VERSION-linux-x64.tar.xz as it is instead of rebuilding it
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export TURBO_TELEMETRY_DISABLED=1

VERDACCIO_VERSION=6.8.0
IMAGE=000008.png
MODEL=$root/models/setsum-vit
version=$(node -p "require('./apps/cli/package.json').version")

work=$(mktemp -d "${TMPDIR:-/tmp}/moxi-registry.XXXXXX")
case $work/ in "$root"/*) echo "registry-check: $work is inside the repository; set TMPDIR elsewhere" >&2; exit 2 ;; esac
verdaccio_pid=
cleanup() {
  [ -n "$verdaccio_pid" ] && kill "$verdaccio_pid" 2>/dev/null && wait "$verdaccio_pid" 2>/dev/null
  if [ "${MOXI_KEEP_WORK:-0}" = 1 ]; then echo "registry-check: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_all=$SECONDS
step_start=$SECONDS
step() {
  step_start=$SECONDS
  printf '\n== %s\n' "$*"
}
took() { echo "$(( SECONDS - step_start )) s"; }
die() {
  echo "registry-check: $*" >&2
  exit 1
}

# --- the registry ---------------------------------------------------------------------
step "verdaccio $VERDACCIO_VERSION"
cache=$root/.cache/verdaccio-$VERDACCIO_VERSION
verdaccio=$cache/node_modules/.bin/verdaccio
if [ ! -x "$verdaccio" ]; then
  echo "installing it into $cache (from the configured registry)"
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-audit --no-fund --loglevel=error "verdaccio@$VERDACCIO_VERSION" >/dev/null ||
    die "npm install verdaccio@$VERDACCIO_VERSION failed"
fi
port=$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")
registry=http://127.0.0.1:$port/
mkdir -p "$work/registry"
cat >"$work/registry/config.yaml" <<EOF
storage: ./storage
auth:
  htpasswd:
    file: ./htpasswd
    max_users: 1
web:
  enable: false
# No uplinks: the registry holds what is published to it and nothing else.
packages:
  '@moxi/*':
    access: \$all
    publish: \$authenticated
    unpublish: \$authenticated
  '**':
    access: \$all
    publish: \$authenticated
middlewares:
  audit:
    enabled: false
log:
  type: stdout
  format: pretty
  level: warn
EOF
(cd "$work/registry" && exec "$verdaccio" --config ./config.yaml --listen "127.0.0.1:$port" >verdaccio.log 2>&1) &
verdaccio_pid=$!
for _ in $(seq 100); do
  curl -sf "${registry}-/ping" >/dev/null && break
  kill -0 "$verdaccio_pid" 2>/dev/null || { cat "$work/registry/verdaccio.log" >&2; die "verdaccio exited"; }
  sleep 0.2
done
curl -sf "${registry}-/ping" >/dev/null || die "verdaccio did not answer on $registry"
# A user for publishing; its token goes in an .npmrc that only the publish commands read.
token=$(curl -sf -X PUT -H 'content-type: application/json' \
  -d '{"name":"moxi-ci","password":"moxi-ci-local-only"}' "${registry}-/user/org.couchdb.user:moxi-ci" |
  node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).token))') ||
  die "could not add a user to verdaccio"
printf '//127.0.0.1:%s/:_authToken=%s\n' "$port" "$token" >"$work/registry/publish.npmrc"
echo "listening on $registry ($(took))"

# --- pack and publish -----------------------------------------------------------------
# pnpm pack runs each package's prepack (the dist/ build) and applies publishConfig and
# workspace: ranges; the tarball checked here is the one published.
mkdir -p "$work/tarballs" "$work/empty"
printf '\n%-14s %10s %10s %6s\n' package packed unpacked files >"$work/sizes.txt"
for dir in packages/kernels packages/attrib apps/cli; do
  name=$(node -p "require('./$dir/package.json').name")
  step "pack and publish $name"
  (cd "$dir" && pnpm pack --pack-destination "$work/tarballs" >"$work/pack.log" 2>&1) || { cat "$work/pack.log" >&2; die "pnpm pack $name failed"; }
  tgz=$work/tarballs/$(node -p "const n = require('./$dir/package.json'); n.name.replace('@', '').replace('/', '-') + '-' + n.version + '.tgz'")
  [ -f "$tgz" ] || die "pnpm pack wrote no $tgz"
  listing=$(tar -tvzf "$tgz") || die "cannot read $tgz"
  files=$(tar -tzf "$tgz" | grep -vc '/$')
  unpacked=$(awk '{ s += $3 } END { print s }' <<<"$listing")
  packed=$(stat -c %s "$tgz")
  awk -v n="$name" -v p="$packed" -v u="$unpacked" -v f="$files" 'BEGIN { printf "%-14s %7.1f kB %7.1f kB %6d\n", n, p / 1000, u / 1000, f }' | tee -a "$work/sizes.txt"
  # Top-level folders and their file counts.
  tar -tzf "$tgz" | grep -v '/$' | awk -F/ '{ k = NF > 3 ? $2 "/" $3 "/" : NF > 2 ? $2 "/" : $2; n[k]++ } END { for (k in n) printf "    %-28s %d\n", k, n[k] }' | sort
  bad=$(tar -tzf "$tgz" | grep -E '(^|/)(test|tests|__tests__|fixtures?)/|\.test\.|(^|/)tsconfig[^/]*\.json$' || true)
  [ -z "$bad" ] || die "$name's tarball holds files that are not for consumers:
$bad"
  (cd "$work/empty" && pnpm publish "$tgz" --registry "$registry" --userconfig "$work/registry/publish.npmrc" --no-git-checks) ||
    die "pnpm publish $name failed"
  echo "($(took))"
done
cat "$work/sizes.txt"

# --- consumers ------------------------------------------------------------------------
consumers=" ${MOXI_CONSUMERS:-node vite typescript cli portable} "
wanted() { [[ $consumers == *" $1 "* ]]; }
declare -a summary=()
failed=0
result() { # name status detail
  summary+=("$(printf '%-11s %-4s %5s s  %s' "$1" "$2" "$(( SECONDS - step_start ))" "$3")")
  [ "$2" = ok ] || failed=1
}
# A fresh copy of an example outside the repository, the @moxi scope from the local registry.
consumer() {
  local dir=$work/consumers/$1
  mkdir -p "$work/consumers"
  cp -R "$root/examples/consumers/$1" "$dir"
  rm -rf "$dir/node_modules" "$dir/dist" "$dir/public" "$dir/package-lock.json"
  printf '@moxi:registry=%s\n' "$registry" >"$dir/.npmrc"
  echo "$dir"
}
npm_install() { # dir log
  (cd "$1" && npm install --no-audit --no-fund --loglevel=error) >"$2" 2>&1 || { cat "$2"; return 1; }
  # @moxi/attrib must be the tarball published above (its integrity in the lockfile).
  node -e '
    const [dir, tgz] = process.argv.slice(1);
    const want = "sha512-" + require("crypto").createHash("sha512").update(require("fs").readFileSync(tgz)).digest("base64");
    const got = require(dir + "/package-lock.json").packages["node_modules/@moxi/attrib"]?.integrity;
    if (got !== want) { console.log(`@moxi/attrib installed is ${got}, not the tarball published (${want})`); process.exit(1); }
  ' "$1" "$work/tarballs/moxi-attrib-$version.tgz"
}

# The README shows these programs: it must show them as they are.
step "README shows the consumer programs verbatim"
not_shown=
for program in node-explain/explain.mjs vite-app/main.js; do
  node -e 'const fs = require("fs"); process.exit(fs.readFileSync("README.md", "utf8").includes(fs.readFileSync(process.argv[1], "utf8")) ? 0 : 1)' "examples/consumers/$program" ||
    not_shown+=" examples/consumers/$program"
done
if [ -z "$not_shown" ]; then result readme ok "README.md shows node-explain/explain.mjs and vite-app/main.js as they are"
else result readme FAIL "README.md does not show$not_shown as it is: copy the file into its code block"; fi

if wanted node; then
step "consumer: node (examples/consumers/node-explain)"
dir=$(consumer node-explain)
if npm_install "$dir" "$work/node-install.log"; then
  echo "npm install: $(took)"
  if (cd "$dir" && node explain.mjs "$MODEL" "$root/examples/setsum/$IMAGE") >"$work/node.out" 2>&1; then
    cat "$work/node.out"
    if detail=$(node scripts/registry-check.mjs node-output "$IMAGE" "$work/node.out" 2>&1); then result node ok "$detail"; else result node FAIL "$detail"; fi
  else
    cat "$work/node.out"
    result node FAIL "explain.mjs exited non-zero"
  fi
else result node FAIL "npm install failed"; fi
echo "($(took))"
fi

if wanted vite; then
step "consumer: vite (examples/consumers/vite-app)"
dir=$(consumer vite-app)
if npm_install "$dir" "$work/vite-install.log"; then
  echo "npm install: $(took)"
  mkdir -p "$dir/public"
  cp -R "$MODEL" "$dir/public/setsum-vit"
  rm -f "$dir/public/setsum-vit/README.md"
  cp "$root/examples/setsum/$IMAGE" "$dir/public/"
  if (cd "$dir" && npx --no-install vite build) >"$work/vite-build.log" 2>&1; then
    tail -n 8 "$work/vite-build.log"
    echo "vite build: $(took)"
    if detail=$(node scripts/registry-check.mjs browser "$IMAGE" "$dir/dist" 2>&1); then result vite ok "$detail (Chromium)"; else result vite FAIL "$detail"; fi
  else
    cat "$work/vite-build.log"
    result vite FAIL "vite build failed"
  fi
else result vite FAIL "npm install failed"; fi
echo "($(took))"
fi

if wanted typescript; then
step "consumer: typescript (examples/consumers/typescript)"
dir=$(consumer typescript)
if npm_install "$dir" "$work/ts-install.log"; then
  echo "npm install: $(took)"
  if (cd "$dir" && npx --no-install tsc -p . && npx --no-install tsc --version) >"$work/tsc.log" 2>&1; then
    cat "$work/tsc.log"
    result typescript ok "tsc -p . clean ($(tail -n 1 "$work/tsc.log"), strict, exactOptionalPropertyTypes, no skipLibCheck)"
  else
    cat "$work/tsc.log"
    result typescript FAIL "tsc reported errors"
  fi
else result typescript FAIL "npm install failed"; fi
echo "($(took))"
fi

if wanted cli; then
step "consumer: cli (npm install -g --prefix)"
prefix=$work/prefix
mkdir -p "$work/cli-run"
if npm install -g --prefix "$prefix" "--@moxi:registry=$registry" --no-audit --no-fund --loglevel=error "@moxi/cli@$version" >"$work/cli-install.log" 2>&1; then
  echo "npm install -g: $(took), $(du -sm "$prefix" | cut -f1) MB installed (webgpu $(du -sm "$prefix/lib/node_modules/@moxi/cli/node_modules/webgpu" 2>/dev/null | cut -f1) MB of it)"
  shown=$("$prefix/bin/moxi" --version 2>&1)
  echo "moxi --version: $shown"
  if [ "$shown" != "$version" ]; then
    result cli FAIL "moxi --version printed '$shown', want $version"
  elif (cd "$work/cli-run" && "$prefix/bin/moxi" explain) >"$work/cli.out" 2>&1 && [ -s "$work/cli-run/moxi-explanation.png" ]; then
    cat "$work/cli.out"
    result cli ok "moxi --version $shown; moxi explain wrote moxi-explanation.png ($(stat -c %s "$work/cli-run/moxi-explanation.png") bytes)"
  else
    cat "$work/cli.out"
    result cli FAIL "moxi explain failed or wrote no moxi-explanation.png"
  fi
else
  cat "$work/cli-install.log"
  result cli FAIL "npm install -g failed"
fi
echo "($(took))"
fi

if wanted portable; then
step "consumer: portable (dist/moxi-$version-linux-x64.tar.xz, no node on PATH)"
archive=$root/dist/moxi-$version-linux-x64.tar.xz
built=
# Built afresh from the CLI that was just packed, so a stale archive never passes for this
# checkout; MOXI_REUSE_ARCHIVE=1 takes the one in dist/ as it is (quicker, for reruns).
if [ "${MOXI_REUSE_ARCHIVE:-0}" != 1 ] || [ ! -s "$archive" ]; then
  # The CLI bundle is fresh: pnpm pack just built it.
  bash scripts/build-portable.sh --skip-build >"$work/portable-build.log" 2>&1 || { tail -n 30 "$work/portable-build.log"; }
  built=" (built now: $(took))"
fi
if [ -s "$archive" ] && xz -t "$archive"; then
  echo "$archive: $(stat -c %s "$archive") bytes$built"
  mkdir -p "$work/portable" "$work/portable-run" "$work/portable-home" "$work/no-bin"
  tar -xJf "$archive" -C "$work/portable"
  moxi=$work/portable/moxi-$version-linux-x64/bin/moxi
  # An empty folder as PATH (on merged-/usr Debian, /bin holds node).
  bare=(env -i "PATH=$work/no-bin" "HOME=$work/portable-home")
  if "${bare[@]}" /bin/sh -c 'command -v node' >/dev/null 2>&1; then
    result portable FAIL "node is on the bare PATH"
  elif ! { (cd "$work/portable-run" && "${bare[@]}" "$moxi" explain) >"$work/portable.out" 2>&1 && [ -s "$work/portable-run/moxi-explanation.png" ]; }; then
    cat "$work/portable.out"
    result portable FAIL "moxi explain failed or wrote no moxi-explanation.png"
  elif ! (cd "$work/portable-run" && "${bare[@]}" "$moxi" doctor) >"$work/portable-doctor.out" 2>&1 || ! grep -q '^adapter ' "$work/portable-doctor.out"; then
    cat "$work/portable.out" "$work/portable-doctor.out"
    result portable FAIL "moxi doctor failed or named no adapter"
  else
    cat "$work/portable.out" "$work/portable-doctor.out"
    result portable ok "moxi explain (wrote moxi-explanation.png) and moxi doctor with PATH=<empty folder> (env -i)"
  fi
else
  result portable FAIL "$archive is missing or not a whole .tar.xz (scripts/build-portable.sh failed?)"
fi
echo "($(took))"
fi

echo
echo "== registry-check: @moxi $version from $registry, $(( SECONDS - start_all )) s in all"
cat "$work/sizes.txt"
echo
for line in "${summary[@]}"; do echo "$line"; done
exit "$failed"
