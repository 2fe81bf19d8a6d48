#!/usr/bin/env bash
# Install Debian's headless Chromium for the report's rendering test (tests/report).
#
# Does nothing when a chromium is already on PATH. Exit codes the test reads:
#   0  chromium is installed (path printed on stdout)
#   3  it cannot be installed here (not root and no sudo, or no apt-get): the test skips
#   1  apt-get failed (a real error: the test fails with this script's output)
set -euo pipefail

found() { command -v chromium || command -v chromium-browser || true; }

existing="$(found)"
if [[ -n "$existing" ]]; then
    echo "$existing"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "no chromium on PATH and no apt-get to install Debian's: install chromium by hand" >&2
    exit 3
fi
if [[ "$(id -u)" -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "no chromium on PATH and no root (nor password-less sudo) to apt-get install it" >&2
    exit 3
fi

export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing on a fresh image: update them once, then install.
if ! "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver \
    >/dev/null 2>&1; then
    "${as_root[@]}" apt-get update -qq >&2
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver >&2
fi

installed="$(found)"
if [[ -z "$installed" ]]; then
    echo "apt-get installed chromium but no chromium is on PATH" >&2
    exit 1
fi
echo "$installed"
