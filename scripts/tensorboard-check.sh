#!/usr/bin/env bash
# Reads a `cltrain train --tensorboard DIR --metrics FILE` run back with TensorBoard's own reader
# and compares it with the run's JSON Lines (scripts/tensorboard-check.py says how).
# Usage: bash scripts/tensorboard-check.sh DIR FILE
# TensorBoard comes from a virtual environment in the cache folder ($CLTRAIN_TENSORBOARD_VENV, else
# ${XDG_CACHE_HOME:-~/.cache}/cltrain/tensorboard-venv), made and filled with `pip install
# tensorboard` on first use. Exit status: 0 the files match, 1 they do not, 77 TensorBoard cannot
# be had here (no python3, no venv module — Debian's python3-venv — or no network for pip): a skip.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${CLTRAIN_TENSORBOARD_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/cltrain/tensorboard-venv}"
skip() { echo "tensorboard-check: skipped: $1" >&2; exit 77; }
if ! "$venv/bin/python" -c "import tensorboard" >/dev/null 2>&1; then
  command -v python3 >/dev/null 2>&1 || skip "no python3"
  python3 -m venv "$venv" >&2 || skip "python3 cannot make a virtual environment (install python3-venv)"
  timeout 600 "$venv/bin/python" -m pip install -q --disable-pip-version-check --retries 1 --timeout 20 tensorboard >&2 \
    || skip "pip could not install tensorboard into $venv (no network?)"
fi
exec "$venv/bin/python" "$here/tensorboard-check.py" "$@"
