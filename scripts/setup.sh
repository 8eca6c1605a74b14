#!/usr/bin/env bash
# The README's first command. On a fresh Debian/Ubuntu machine, as root: installs the system
# packages, builds CLTrain in release mode and runs the main job, which for now lists the devices
# and verifies every operation on every OpenCL device against the CPU reference.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/require-swift.sh
bash scripts/ensure-deps.sh
swift build -c release
bin="$(swift build -c release --show-bin-path)"
"$bin/cltrain" devices
"$bin/cltrain" verify
