#!/usr/bin/env bash
# Makes the expected BLEU figures for `cltrain bleu`'s tests from sacreBLEU itself.
#
# For each case folder under Tests/CLTrainTests/Fixtures/bleu/ (hyp.txt and ref1.txt, ref2.txt, …,
# our own sentences), runs sacreBLEU's Python API on the lines as its command line reads them
# (`newline="\n"`, each line `rstrip()`ped) and its command line itself (`sacrebleu REFS -i HYP
# -m bleu -f text`), and writes both, with the files' text, to
# Tests/CLTrainTests/Fixtures/bleu-expected.json; also the 13a tokens of every line and of a list
# of tricky strings. The tests read only that JSON (embedded in the test bundle), so CI never
# needs sacreBLEU. sacreBLEU is installed, pinned, into .build/sacrebleu-venv on first use.
# Run it again after adding or changing a case, and commit the JSON.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repository="$(dirname "$here")"
version="${SACREBLEU_VERSION:-2.6.0}"
venv="$repository/.build/sacrebleu-venv"
if ! "$venv/bin/python" -c "import sacrebleu, sys; sys.exit(sacrebleu.__version__ != '$version')" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "sacrebleu==$version"
fi
fixtures="$repository/Tests/CLTrainTests/Fixtures"
"$venv/bin/python" - "$fixtures" "$venv/bin/sacrebleu" <<'PYTHON'
import glob, json, os, subprocess, sys
import sacrebleu
from sacrebleu.metrics import BLEU
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

fixtures, cli = sys.argv[1], sys.argv[2]
tokenizer = Tokenizer13a()

def read_lines(path):
    # As sacrebleu.py reads --input and reference files.
    with open(path, encoding="utf-8", newline="\n") as handle:
        return [line.rstrip() for line in handle]

def raw(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()

cases = []
for folder in sorted(glob.glob(os.path.join(fixtures, "bleu", "*"))):
    name = os.path.basename(folder)
    hyp = os.path.join(folder, "hyp.txt")
    refs = sorted(glob.glob(os.path.join(folder, "ref*.txt")))
    hyps = read_lines(hyp)
    ref_streams = [read_lines(r) for r in refs]
    bleu = BLEU()
    score = bleu.corpus_score(hyps, ref_streams)
    signature = str(bleu.get_signature())
    run = subprocess.run([cli, *refs, "-i", hyp, "-m", "bleu", "-f", "text"], capture_output=True, text=True, check=True)
    cases.append({
        "name": name,
        "hypotheses": raw(hyp),
        "references": [raw(r) for r in refs],
        "score": score.score, "precisions": score.precisions, "bp": score.bp, "ratio": score.ratio,
        "hyp_len": score.sys_len, "ref_len": score.ref_len, "counts": score.counts, "totals": score.totals,
        "signature": signature,
        "cli_output": run.stdout.strip(),
        "tokenized_hypotheses": [tokenizer(line) for line in hyps],
    })

strings = [
    "", " ", "Hello, world!", "a..b", "a...b", "3.14 and 1,000 and 1.000,50", "x.5 5.x .5 5.", ",,..,,",
    "1990-2000 a-b 5- -5 -", "end-\nof line", "two\nlines", "&quot;q&quot; &amp;amp; &lt;tag&gt; &#39;",
    "<skipped>gone <skip> <skipped", "it's don't O'Neil", "e.g. i.e. U.S.A.", "$5 €5 £5 ¥5", "50% 50 %",
    "tab\there", "nbsp\u00a0here", "fs\u001cgs\u001dus\u001frs\u001e", "zwsp\u200bhere", "line\u2028sep",
    "«Guillemets» „Anführung“ ‘single’", "Ellipsis… and — dashes –", "中文，标点。", "emoji 😀👍🏽!",
    "e\u0301 é", "a/b\\c|d", "(x)[y]{z}<w>", "@#^_`~*+=", "Mr. Smith's car.", "3.", ".3", "3,", ",3",
    "ends with digit 5.", "A.B.C", "www.example.com", "9.9.9", "-\n-\n", "  leading and trailing  ",
]
tokens = [{"text": s, "tokens": tokenizer(s).split()} for s in strings]

expected = {"sacrebleu_version": sacrebleu.__version__, "cases": cases, "tokenizer": tokens}
out = os.path.join(fixtures, "bleu-expected.json")
with open(out, "w", encoding="utf-8") as handle:
    json.dump(expected, handle, ensure_ascii=False, indent=1)
    handle.write("\n")
print(f"wrote {out}: {len(cases)} cases, {len(tokens)} tokenizer strings (sacreBLEU {sacrebleu.__version__})")
PYTHON
