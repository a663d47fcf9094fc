#!/usr/bin/env bash
# Installs a Vulkan driver that Dawn (the `webgpu` npm package) accepts on a GPU-less Debian 12
# machine: Mesa 25's lavapipe from bookworm-backports. Bookworm's own Mesa 22.3 is rejected by
# Dawn (docs/platform-notes.md, "WebGPU in Node"). The WebGPU tests then run on it; it is a
# correctness target only (slow). Run as root. Idempotent: a second run changes nothing.
set -euo pipefail

SOURCES=/etc/apt/sources.list.d/debian.sources

if [ "$(id -u)" -ne 0 ]; then
  echo "install-vulkan.sh: must run as root" >&2
  exit 1
fi

installed_version() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true
}

if [[ "$(installed_version)" == *bpo12* ]]; then
  echo "install-vulkan.sh: mesa-vulkan-drivers $(installed_version) from bookworm-backports is already installed"
  exit 0
fi

# Add bookworm-backports to the Suites: line of the main Debian entry (the one listing plain
# "bookworm"), unless it is there already.
if [ -f "$SOURCES" ]; then
  if ! grep -Eq '^Suites:.*\bbookworm-backports\b' "$SOURCES"; then
    sed -i -E '/^Suites:.*\bbookworm\b( |$)/ s/$/ bookworm-backports/' "$SOURCES"
  fi
  grep -Eq '^Suites:.*\bbookworm-backports\b' "$SOURCES" || {
    echo "install-vulkan.sh: could not add bookworm-backports to $SOURCES" >&2
    exit 1
  }
else
  echo "install-vulkan.sh: $SOURCES not found; add bookworm-backports to your apt sources by hand" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y -t bookworm-backports mesa-vulkan-drivers

echo "install-vulkan.sh: mesa-vulkan-drivers $(installed_version) installed"
