# Sourced by the peer scripts: sets $venv to a virtual environment with PyTorch's CPU wheel,
# $PEER_VENV (default .build/pytorch-peer-venv), made on first use with pip; never in CI.
venv="${PEER_VENV:-.build/pytorch-peer-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  # System site packages let an offline machine use Debian's typing_extensions, sympy, … beside a
  # torch wheel from pip's find-links (e.g. /opt/wheels).
  python3 -m venv --system-site-packages "$venv"
  # Online: the CPU wheel alone from PyTorch's index, then its dependencies from the usual index,
  # the version pinned so that pip cannot trade it for PyPI's (CUDA) build.
  if "$venv/bin/pip" install --quiet --retries 1 --timeout 15 --no-deps torch --index-url https://download.pytorch.org/whl/cpu 2>/dev/null; then
    version="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"))')"
    "$venv/bin/pip" install --quiet "torch==$version"
  else
    echo "venv.sh: PyTorch's index is unreachable; installing torch from pip's local wheels" >&2
    "$venv/bin/pip" install --quiet --no-index --no-deps torch
  fi
  "$venv/bin/python" -c "import torch" || { echo "venv.sh: torch does not import in $venv" >&2; exit 1; }
fi
