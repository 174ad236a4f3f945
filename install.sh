#!/usr/bin/env bash
# Installs unleak and what it needs from the system: `./install.sh` for use, `./install.sh test`
# for development (adds the test tools and Chromium, whose page screenshots the tests check),
# `./install.sh bench` for the benchmarks. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

pkgs=""
# The vpdq package (Meta's video hash) builds from source against FFmpeg's development files.
pkg-config --exists libavcodec libavformat libswscale 2>/dev/null ||
  pkgs="pkg-config libavcodec-dev libavformat-dev libavdevice-dev libavfilter-dev libswscale-dev libswresample-dev libavutil-dev"
# Chromium takes the optional full-page screenshots of sightings (`unleak scan --screenshot`).
if [ "${1:-}" = "test" ] || [ "${1:-}" = "bench" ] || [ "${UNLEAK_SCREENSHOTS:-}" = 1 ]; then
  command -v chromium >/dev/null || pkgs="$pkgs chromium"
fi
if [ -n "$pkgs" ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "install.sh: please install these Debian/Ubuntu packages first: $pkgs" >&2; exit 1; fi
  echo "Installing system packages:$pkgs ..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $pkgs >/dev/null
fi

extras=""
[ "${1:-}" = "test" ] && extras="[test]"
[ "${1:-}" = "bench" ] && extras="[test,bench]"
python3 -m pip install -q --disable-pip-version-check -e ".${extras}"
echo "unleak installed: try 'unleak demo' or 'unleak --help'."
