#!/usr/bin/env bash
# Installs Debian's chromium for the report screenshot test (test/report-screenshot.test.ts),
# which runs it headless on the generated report.html. Run as root. Idempotent: when chromium is
# already installed it changes nothing and downloads nothing.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  echo "install-chromium.sh: $(chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-chromium.sh: must run as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
# With recommends: they bring the fonts the report text is drawn with.
apt-get install -y chromium
command -v chromium >/dev/null 2>&1 || {
  echo "install-chromium.sh: chromium is still not on PATH after apt-get install" >&2
  exit 1
}
echo "install-chromium.sh: installed $(chromium --version 2>/dev/null || echo chromium)"
