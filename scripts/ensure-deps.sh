#!/usr/bin/env bash
# Runs install-deps.sh (as root) unless the system packages CLTrain needs are already there:
# pkg-config finding OpenCL and OpenBLAS, and PoCL registered with the OpenCL ICD loader.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists OpenCL openblas \
   && compgen -G "/etc/OpenCL/vendors/*pocl*.icd" >/dev/null; then
  exit 0
fi
echo "ensure-deps.sh: system packages missing (OpenCL, OpenBLAS, PoCL or pkg-config); installing them"
bash "$here/install-deps.sh"
