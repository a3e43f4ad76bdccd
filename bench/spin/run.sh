#!/usr/bin/env bash
# Spin next to the explorer on race-unregister-dispatch / emmu-v2 (see compare.ts).
# Installs Spin from the Debian packages when it is absent (as root, or through
# passwordless sudo); where it cannot, the Spin columns are left empty and say why.
# Run from anywhere: bash bench/spin/run.sh
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

why=""
if ! command -v spin >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    why="spin is missing and cannot be installed (not root, no passwordless sudo)"
  fi
  if [ -z "$why" ]; then
    echo "installing spin from the Debian packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! "${as_root[@]}" apt-get install -y -q spin >/dev/null 2>&1; then
      "${as_root[@]}" apt-get update -q >/dev/null 2>&1
      "${as_root[@]}" apt-get install -y -q spin >/dev/null 2>&1 || why="apt-get install spin failed"
    fi
  fi
fi
if [ -z "$why" ] && ! command -v gcc >/dev/null; then
  why="gcc is missing (pan is compiled C)"
fi

cd "$root" || exit 1
if [ -n "$why" ]; then
  exec npx --yes deno@2.9.6 run --allow-read --allow-write --allow-run bench/spin/compare.ts --no-spin "$why"
fi
exec npx --yes deno@2.9.6 run --allow-read --allow-write --allow-run bench/spin/compare.ts
