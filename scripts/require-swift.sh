#!/usr/bin/env bash
# Fails with a clear message when the Swift toolchain is not on PATH.
set -euo pipefail
if ! command -v swift >/dev/null 2>&1; then
  echo "'swift' is not on PATH. Install the Swift 6.3 toolchain from https://www.swift.org/install/linux/" >&2
  echo "(Debian and Ubuntu have no package for it), then run this script again." >&2
  exit 1
fi
