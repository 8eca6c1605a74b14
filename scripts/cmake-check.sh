#!/usr/bin/env bash
# Configures, builds, installs and tests the CMake build (CMakeLists.txt) in .build-cmake/, so
# that CI notices when it drifts from the SwiftPM build. Installs into .build-cmake/install.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
build=.build-cmake
prefix="$PWD/$build/install"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix"
cmake --build "$build"
cmake --install "$build"
# The installed binary runs from its new place (RPATH to ../lib and the Swift runtime).
"$prefix/bin/cltrain" --version
ctest --test-dir "$build" --output-on-failure
