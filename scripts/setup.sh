#!/usr/bin/env bash
# Sets up a fresh Debian 12 + Node 20 machine (run as root) to build, run and test moxi:
# pnpm, the workspace's dependencies, the build, and, when the machine has no Vulkan GPU
# driver, the software Vulkan driver WebGPU then runs on (Mesa lavapipe from
# bookworm-backports; Debian 12's own Mesa is too old for Dawn). Also Debian's Chromium,
# for the browser test, and Debian's Slurm + MUNGE (daemons not started; tools/slurm/start.sh
# brings up a single-node cluster for the Slurm test). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=12.4.2
export DEBIAN_FRONTEND=noninteractive

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

have_vulkan_gpu_driver() {
  # Any installed Vulkan ICD that is not Mesa's software rasteriser (lvp).
  local icd
  for icd in /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json; do
    [ -e "$icd" ] || continue
    case "$(basename "$icd")" in lvp_icd*) ;; *) return 0 ;; esac
  done
  return 1
}

debian_mirror() {
  # Reuse the mirror this machine is configured with; never hard-code a registry.
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list)
  fi
  printf '%s' "$uri"
}

apt_packages=()
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then apt_packages+=(libvulkan1); fi
if ! command -v chromium >/dev/null; then apt_packages+=(chromium); fi
if ! command -v sbatch >/dev/null || ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null; then apt_packages+=(slurm-wlm); fi
if ! [ -x /usr/sbin/munged ]; then apt_packages+=(munge); fi
need_lavapipe=0
if ! have_vulkan_gpu_driver && ! ls /usr/share/vulkan/icd.d/lvp_icd* >/dev/null 2>&1; then need_lavapipe=1; fi
# Debian 12's own lavapipe (Mesa 22) is rejected by Dawn; replace it with the backport.
if ! have_vulkan_gpu_driver && dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^22\.'; then need_lavapipe=1; fi

if [ ${#apt_packages[@]} -gt 0 ] || [ $need_lavapipe = 1 ]; then
  if [ $need_lavapipe = 1 ] && [ ! -f /etc/apt/sources.list.d/backports.sources ]; then
    mirror=$(debian_mirror)
    [ -n "$mirror" ] || { echo "setup: cannot find this machine's Debian mirror in /etc/apt" >&2; exit 1; }
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" \
      > /etc/apt/sources.list.d/backports.sources
  fi
  say "installing ${apt_packages[*]:-} $([ $need_lavapipe = 1 ] && echo 'mesa-vulkan-drivers (lavapipe, bookworm-backports)')"
  apt-get update -qq
  # Packages with daemons (munge, slurm-wlm) must not start them: there may be no systemd,
  # and slurmctld/slurmd have no config yet. Without a policy-rc.d, add one that denies
  # every start (exit 101) for the duration of the install, then remove it.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  if [ ${#apt_packages[@]} -gt 0 ]; then apt-get install -y -qq "${apt_packages[@]}" >/dev/null; fi
  if [ $need_lavapipe = 1 ]; then apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null; fi
  if [ -n "$(trap -p EXIT)" ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
fi

if [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  say "installing pnpm $PNPM_VERSION"
  npm install -g --silent "pnpm@$PNPM_VERSION" >/dev/null
fi

export TURBO_TELEMETRY_DISABLED=1
say "installing dependencies"
pnpm install --frozen-lockfile --reporter=silent
say "building"
pnpm run --silent build >/dev/null
say "ready"
