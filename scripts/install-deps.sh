#!/usr/bin/env bash
# Installs the system packages CLTrain needs on a fresh Debian/Ubuntu machine (run as root).
#   OpenCL: the ICD loader and headers, and PoCL so a machine without a GPU still has
#           OpenCL CPU devices to test on.
#   CPU backend: OpenBLAS through its CBLAS interface, found with pkg-config.
#   CMake build (beside SwiftPM): cmake and the Ninja generator.
#   scripts/tensorboard-check.sh (a test): python3-venv, for its virtual environment.
#   cltrain-bench's reference column on OpenCL devices: CLBlast, loaded at run time if present.
#   Data parallelism across processes: Open MPI (libmpi to link, mpirun to start jobs and tests).
#   Translation (`--data de-en`): Debian's trans-de-en, the Ding German-English dictionary (GPL-2+),
#           in /usr/share/trans/de-en; its sentence pairs are extracted at run time, never committed.
# Swift itself is not installed here: see README.md.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (apt-get installs system packages)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
  ocl-icd-opencl-dev ocl-icd-libopencl1 opencl-headers pocl-opencl-icd clinfo \
  libopenblas-dev pkg-config ca-certificates \
  cmake ninja-build git python3 python3-pip python3-venv \
  libopenmpi-dev openmpi-bin
apt-get install -y -q --no-install-recommends libclblast-dev \
  || echo "install-deps.sh: libclblast-dev is not available; cltrain-bench leaves its CLBlast column empty" >&2
apt-get install -y -q --no-install-recommends trans-de-en \
  || echo "install-deps.sh: trans-de-en is not available; --data de-en and its test are unavailable" >&2
