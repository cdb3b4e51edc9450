#!/usr/bin/env bash
# Installs what pluralism needs on a fresh Debian machine: the C libraries it links
# (SQLite, libxml2, found through pkg-config), python3 with pip, through which the
# embedded model is fetched, and Chromium, in which the tests open every page of a rendered
# report headless. Safe to run again: it installs only what is missing.
set -euo pipefail

needed=()
for pkg in libsqlite3-dev libxml2-dev pkg-config chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || needed+=("$pkg")
done
python3 -m pip --version >/dev/null 2>&1 || needed+=(python3 python3-pip)

if [ ${#needed[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${needed[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${needed[@]}" >/dev/null
fi
command -v swift >/dev/null 2>&1 || { echo "setup: no Swift toolchain on PATH (Swift 6 is needed)" >&2; exit 1; }
