#!/usr/bin/env bash
# Runs install-deps.sh (as root) unless the system packages CLTrain needs are already there:
# pkg-config finding OpenCL and OpenBLAS, PoCL registered with the OpenCL ICD loader, and
# cmake, ninja and git for the CMake build, python3 with pip for the corpus download, Open MPI
# (its pkg-config file and mpirun), and the de-en dictionary (trans-de-en, where the distribution
# has it: install-deps.sh goes on without it, so its absence elsewhere must not re-run it each time).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists OpenCL openblas ompi-c \
   && command -v mpirun >/dev/null 2>&1 \
   && command -v cmake >/dev/null 2>&1 && command -v ninja >/dev/null 2>&1 \
   && command -v git >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1 \
   && compgen -G "/etc/OpenCL/vendors/*pocl*.icd" >/dev/null \
   && { [ -f /usr/share/trans/de-en ] || ! apt-cache show trans-de-en >/dev/null 2>&1; }; then
  exit 0
fi
echo "ensure-deps.sh: system packages missing (OpenCL, OpenBLAS, PoCL, Open MPI, pkg-config, cmake, ninja, git, pip or trans-de-en); installing them"
bash "$here/install-deps.sh"
