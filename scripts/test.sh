#!/usr/bin/env bash
# The README's test command: installs the system packages if they are missing (that needs root),
# then runs the test suite in two settings, and the multi-device tests in a third:
#   (a) PoCL with two CPU devices, so every OpenCL test runs on two devices;
#   (b) no OpenCL platform at all: the OpenCL tests skip with a message, the CPU tests run, and
#       so do the tests that train to a goal on the release build of `cltrain` (built first, and
#       named by CLTRAIN_RELEASE_EXECUTABLE: the reverse task);
#   (c) PoCL with four devices: training with layers and softmax shards on separate devices,
#       micro-batched too.
# Extra arguments go to `swift test`, e.g. `bash scripts/test.sh --filter Tolerance`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/require-swift.sh
bash scripts/ensure-deps.sh

no_platform="$(mktemp -d)"
trap 'rmdir "$no_platform"' EXIT
failed=()

echo "== setting (a): PoCL with two devices (POCL_DEVICES=\"pthread pthread\")"
POCL_DEVICES="pthread pthread" swift test "$@" || failed+=("(a) PoCL with two devices")

echo "== setting (b): no OpenCL platform (OCL_ICD_VENDORS=$no_platform, an empty folder), with the release cltrain"
release_cltrain=""
if swift build -c release --product cltrain; then
  release_cltrain="$(swift build -c release --show-bin-path)/cltrain"
else
  failed+=("(b) the release build of cltrain")
fi
OCL_ICD_VENDORS="$no_platform" CLTRAIN_RELEASE_EXECUTABLE="$release_cltrain" swift test "$@" || failed+=("(b) no OpenCL platform")

echo "== setting (c): PoCL with four devices, the multi-device and pipeline tests"
POCL_DEVICES="pthread pthread pthread pthread" swift test --filter "MultiDevice|MicroBatch|PipelineFailure" "$@" \
  || failed+=("(c) PoCL with four devices")

if [ "${#failed[@]}" -ne 0 ]; then
  printf 'test.sh: failed in setting %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "test.sh: all three settings passed"
