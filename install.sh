#!/usr/bin/env bash
# Installs unleak and what it needs from the system: `./install.sh` for use, `./install.sh test`
# for development (adds the test tools). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

need_apt=0
pkg-config --exists libavcodec libavformat libswscale 2>/dev/null || need_apt=1
if [ "$need_apt" = 1 ]; then
  # The vpdq package (Meta's video hash) builds from source against FFmpeg's development files.
  pkgs="pkg-config libavcodec-dev libavformat-dev libavdevice-dev libavfilter-dev libswscale-dev libswresample-dev libavutil-dev"
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "install.sh: please install these Debian/Ubuntu packages first: $pkgs" >&2; exit 1; fi
  echo "Installing FFmpeg development packages (needed to build vpdq)..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $pkgs >/dev/null
fi

extras=""
[ "${1:-}" = "test" ] && extras="[test]"
[ "${1:-}" = "bench" ] && extras="[test,bench]"
python3 -m pip install -q --disable-pip-version-check -e ".${extras}"
echo "unleak installed: try 'unleak demo' or 'unleak --help'."
