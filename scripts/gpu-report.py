#!/usr/bin/env python3
"""The report step of scripts/gpu-session.sh: turns a session's results folder into the Markdown
of BENCHMARKS.md's H200 section (CLTrain's figure per case, the peers' figures from the same run,
the ratio CLTrain/peer, % of the peak measured in the same run, training words/s, the goals).

    python3 scripts/gpu-report.py DIR            # DIR: $OUT as it came back, or gpu-results/<time>
    python3 scripts/gpu-report.py --self-test    # the peer columns and goals on made-up figures

DIR holds one N-phase.tar.gz per phase (or the unpacked N-phase/ folders). Phases that are
missing, failed or ran over are reported as such; the report never fails because a figure is
absent, so a partial session still has one.

Why a python3 script and not a `cltrain-bench report` subcommand: it must run after any phase,
also when the Swift binaries could not start on the GPU machine (a missing runtime library, no
OpenCL driver) and the report is most needed; python3 (stdlib only) is on the GPU machine, here
and in CI, and reads torch_anchor.py's JSON and the tarballs with no build step. It reads the
JSON that cltrain-bench, cltrain verify and cltrain train write, so it depends only on their
documented output files.
"""
import io
import json
import math
import os
import re
import statistics
import sys
import tarfile

PHASES = ["check", "tune", "kernels", "training", "translate", "tests"]

# The suite's cases at the GPU's shapes, with the peer figures of torch_anchor.py that match them.
# kind: "rate" (GFLOP/s, higher is better) or "time" (ms, lower is better).
PEERS = {
    "gemm 128x4000x2000 NN": ("sgemm_fp32_128x4000x2000_gflops", "rate", "cuBLAS fp32"),
    "gemm 128x80000x1000 NN": ("sgemm_fp32_128x80000x1000_gflops", "rate", "cuBLAS fp32"),
    "gemm 1024x1024x1024 NN": ("sgemm_fp32_1024x1024x1024_gflops", "rate", "cuBLAS fp32"),
    "gemm 4096x4096x4096 NN": ("sgemm_fp32_4096x4096x4096_gflops", "rate", "cuBLAS fp32"),
    "softmax 128x80000": ("softmax_128x80000_ms", "time", "torch.softmax"),
    "softmax+xent fwd+bwd 128x80000": ("xent_fwd_bwd_128x80000_ms", "time", "cross_entropy fwd+bwd"),
    "lstm layer H1000 B128 T50 fwd": ("cudnn_lstm_L1_H1000_B128_T50_fwd_ms", "time", "cuDNN"),
    "lstm layer H1000 B128 T50 fwd+bwd": ("cudnn_lstm_L1_H1000_B128_T50_fwdbwd_ms", "time", "cuDNN"),
    "lstm 4 layers H1000 B128 T50 fwd": ("cudnn_lstm_L4_H1000_B128_T50_fwd_ms", "time", "cuDNN"),
    "lstm 4 layers H1000 B128 T50 fwd+bwd": ("cudnn_lstm_L4_H1000_B128_T50_fwdbwd_ms", "time", "cuDNN"),
}
# The goals: which comparisons must reach 1.00× (CLTrain at least as fast as the peer).
GOALS = {
    "gemm 128x4000x2000 NN": "≥ cuBLAS fp32", "gemm 128x80000x1000 NN": "≥ cuBLAS fp32",
    "gemm 1024x1024x1024 NN": "≥ cuBLAS fp32", "gemm 4096x4096x4096 NN": "≥ cuBLAS fp32",
    "softmax+xent fwd+bwd 128x80000": "≤ PyTorch's time",
    "lstm layer H1000 B128 T50 fwd+bwd": "≤ cuDNN's time", "lstm 4 layers H1000 B128 T50 fwd+bwd": "≤ cuDNN's time",
}
LM_PEER = "lm_L4_H1000_V80000_B128_T50_words_per_s"
# The rehearsal's --quick stand-ins (Benchmarks/*Cases.swift) for the cases above, so that its report
# has the same rows and columns as the GPU's.
STAND_INS = {
    "gemm 16x500x250 NN": "gemm 128x4000x2000 NN", "gemm 16x10000x125 NN": "gemm 128x80000x1000 NN",
    "gemm 64x64x64 NN": "gemm 1024x1024x1024 NN", "gemm 128x128x128 NN": "gemm 4096x4096x4096 NN",
    "softmax 16x10000": "softmax 128x80000", "softmax+xent fwd+bwd 16x10000": "softmax+xent fwd+bwd 128x80000",
    "lstm layer H64 B16 T5 fwd": "lstm layer H1000 B128 T50 fwd",
    "lstm layer H64 B16 T5 fwd+bwd": "lstm layer H1000 B128 T50 fwd+bwd",
    "lstm 4 layers H64 B16 T5 fwd": "lstm 4 layers H1000 B128 T50 fwd",
    "lstm 4 layers H64 B16 T5 fwd+bwd": "lstm 4 layers H1000 B128 T50 fwd+bwd",
}


def load(folder):
    """{phase: {file name: bytes}} from N-phase.tar.gz files or N-phase/ folders."""
    phases = {}
    for entry in sorted(os.listdir(folder)):
        match = re.fullmatch(r"(\d+)-([a-z]+)(\.tar\.gz)?", entry)
        if not match or match.group(2) not in PHASES:
            continue
        files = phases.setdefault(match.group(2), {})
        path = os.path.join(folder, entry)
        if match.group(3):
            try:
                with tarfile.open(path, "r:gz") as archive:
                    for member in archive.getmembers():
                        if member.isfile():
                            files[os.path.basename(member.name)] = archive.extractfile(member).read()
            except (tarfile.TarError, OSError, EOFError) as error:
                files["status.json"] = json.dumps({"status": f"unreadable archive: {error}"}).encode()
        elif os.path.isdir(path):
            for name in os.listdir(path):
                with open(os.path.join(path, name), "rb") as handle:
                    files[name] = handle.read()
    return phases


def text(files, name):
    data = files.get(name)
    return data.decode("utf-8", "replace") if data is not None else None


def parse_json(files, name):
    data = files.get(name)
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def figure(value, digits=4):
    """Four significant digits without an exponent, or a dash."""
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    magnitude = int(math.floor(math.log10(abs(value))))
    return f"{value:.{min(max(digits - 1 - magnitude, 0), 6)}f}"


def ratio(value):
    return "–" if value is None or not math.isfinite(value) else f"{value:.2f}×"


def flops_text(gigaflops):
    """A FLOP rate in TFLOP/s from 1 TFLOP/s up, else in GFLOP/s."""
    return f"{figure(gigaflops / 1e3)} TFLOP/s" if gigaflops >= 1e3 else f"{figure(gigaflops)} GFLOP/s"


def rate_text(result):
    """CLTrain's rate for a case: FLOP/s for counted FLOPs, else GB/s."""
    if result.get("gigaflopsPerSecond") is not None:
        return flops_text(result["gigaflopsPerSecond"])
    if result.get("gigabytesPerSecond") is not None:
        return f"{figure(result['gigabytesPerSecond'])} GB/s"
    return "–"


def self_test():
    """Builds a GPU session's folder with made-up figures whose ratios are known, reports it, and
    checks the peer columns, the ratios and the goals; returns 0 when all hold."""
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        def phase(number, name, files):
            os.mkdir(os.path.join(folder, f"{number}-{name}"))
            files["status.json"] = json.dumps({"phase": name, "mode": "gpu", "status": "ok", "seconds": 1,
                                               "limit_seconds": 9, "note": ""})
            for file, content in files.items():
                with open(os.path.join(folder, f"{number}-{name}", file), "w") as handle:
                    handle.write(content)

        def result(case, ms, flops=None, bytes_=None, ref_ms=None):
            r = {"case": case, "time": {"median": ms / 1e3}, "flops": flops,
                 "gigaflopsPerSecond": flops / (ms / 1e3) / 1e9 if flops else None,
                 "gigabytesPerSecond": bytes_ / (ms / 1e3) / 1e9 if bytes_ else None,
                 "percentOfPeak": 100 * flops / (ms / 1e3) / 50e12 if flops else None}
            if ref_ms:
                r["reference"] = {"name": "CLBlast", "time": {"median": ref_ms / 1e3},
                                  "gigaflopsPerSecond": flops / (ref_ms / 1e3) / 1e9}
            return r
        device = {"label": "0", "name": "NVIDIA H200", "platform": "NVIDIA CUDA", "driverVersion": "580",
                  "computeUnits": 132, "peak": {"flopsPerSecond": 50e12, "bytesPerSecond": 4e12, "method": "test"}}
        flops = 2 * 4096 ** 3
        bench = {"date": "test", "options": {"quick": False}, "devices": [device],
                 "results": [result("gemm 4096x4096x4096 NN", 4.0, flops=flops, ref_ms=8.0),
                             result("softmax+xent fwd+bwd 128x80000", 0.4, bytes_=8e7)]}
        phase(1, "check", {"verify.json": json.dumps({"passed": 3, "failed": 0, "results": []})})
        phase(3, "kernels", {"bench-gemm.json": json.dumps(bench),
                             "peers.json": json.dumps({"sgemm_fp32_1024x1024x1024_gflops": 1,
                                                       "sgemm_fp32_4096x4096x4096_gflops": flops / 2e-3 / 1e9,
                                                       "xent_fwd_bwd_128x80000_ms": 0.2, LM_PEER: 1000.0})})
        steps = lambda rates: "\n".join(json.dumps({"type": "step", "step": i + 1, "tokens_per_second": r})
                                         for i, r in enumerate(rates))
        phase(4, "training", {"shape.txt": "--vocab 80000\nwarmup_steps 2\n",
                              "train-one-queue.jsonl": steps([1, 1, 500, 400, 600]),
                              "train-four-queues.jsonl": steps([1, 1, 1000, 1200, 1100])})
        words = lambda rates: "\n".join(json.dumps({"type": "step", "task": "translate", "step": i + 1, "words_per_second": r})
                                         for i, r in enumerate(rates))
        phase(5, "translate", {"shape.txt": "--source-vocab 160000\nwarmup_steps 2\n",
                               "translate-one-queue.jsonl": words([1, 1, 1500, 1700, 1600]),
                               "translate-pipelined.jsonl": words([1, 1, 3000, 3300, 3200])})
        captured = io.StringIO()
        stdout, sys.stdout = sys.stdout, captured
        try:
            main(["gpu-report.py", folder])
        finally:
            sys.stdout = stdout
        report = captured.getvalue()
    expected = ["| gemm 4096x4096x4096 NN | 4.000 | 34.36 TFLOP/s | 68.7 | 8.000 ms, 17.18 TFLOP/s | 2.00× | "
                "cuBLAS fp32 68.72 TFLOP/s (137 % of peak) | 0.50× | ≥ cuBLAS fp32: **missed** |",
                "| softmax+xent fwd+bwd 128x80000 | 0.4000 | 200.0 GB/s | – |  |  | cross_entropy fwd+bwd 0.2000 ms | 0.50× |",
                "| one queue | 500.0 | 3 | 0.50× |", "| four queues: layers pipelined, softmax split 4 ways | 1100 | 3 | 1.10× | "
                "speedup 2.20× over one queue |", "- training words/s ≥ PyTorch: met (1.10×)",
                "| one queue | 1600 | 3 | the paper: about 1 700 on one GPU |",
                "| 8 queues: layer k of both stacks on queue k, softmax over 4, pipelined | 3200 | 3 | speedup 2.00× over one queue; "
                "the paper: 6 300 on 8 GPUs (3.7×) |", "### H200: measured"]
    missing = [line for line in expected if line not in report]
    for line in missing:
        print(f"gpu-report.py --self-test: expected in the report: {line}", file=sys.stderr)
    if missing:
        print(report, file=sys.stderr)
        return 1
    print("gpu-report.py --self-test: the peer columns, ratios and goals came out as expected")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    folder = argv[1]
    if not os.path.isdir(folder):
        print(f"gpu-report.py: '{folder}' is not a folder", file=sys.stderr)
        return 2
    phases = load(folder)
    status = {name: parse_json(phases.get(name, {}), "status.json") or {} for name in PHASES}
    mode = next((s["mode"] for s in status.values() if "mode" in s), "unknown")
    rehearsal = mode != "gpu"
    lines = []
    add = lines.append

    check = phases.get("check", {})
    kernels = phases.get("kernels", {})
    training = phases.get("training", {})
    bench = [parse_json(kernels, f"bench-{group}.json") for group in ("gemm", "softmax", "lstm")]
    bench = [b for b in bench if b]
    device = next((d for b in bench for d in b.get("devices", [])), None)
    peak = device.get("peak") if device else None
    peers = parse_json(kernels, "peers.json") or {}
    no_peers = peers.get("not_measured") or (None if peers else "peers.json missing")
    if no_peers is None and "sgemm_fp32_1024x1024x1024_gflops" not in peers:
        no_peers = "peers.json holds no figures"
    date = bench[0]["date"] if bench else "unknown date"
    quick = any(b.get("options", {}).get("quick") for b in bench)

    if rehearsal:
        add("### Rehearsal on PoCL — NOT GPU figures")
        add("")
        add("> `bash scripts/gpu-session.sh --rehearse`: the GPU session's sequence on a PoCL CPU device at "
            "scaled-down shapes, to prove the script and the report. None of these figures is a GPU figure; "
            "the cases' shapes are the `--quick` stand-ins, the peers are absent.")
    else:
        add("### H200: measured in one session")
        add("")
        add("`bash scripts/gpu-session.sh` on the GPU machine (after `bash scripts/gpu-session.sh --prepare` here, with carry "
            "`[\".gpu\"]`); the peers (PyTorch with cuBLAS and cuDNN, CLBlast) were measured in the same run, "
            "on the same GPU, beside CLTrain.")
    add("")
    devices_line = ""
    if device:
        devices_line = (f"OpenCL device {device['label']}: {device['name']} — {device['platform']}, driver "
                        f"{device['driverVersion']}, {device['computeUnits']} compute units")
    smi = text(check, "nvidia-smi.csv")
    add(f"- Date: {date}. {devices_line or 'No OpenCL device was measured.'}")
    if smi and "," in smi:
        add(f"- nvidia-smi: `{smi.strip().splitlines()[-1]}`")
    if peak:
        add(f"- Measured peak (same run; {peak.get('method', '')}): **{flops_text(peak['flopsPerSecond'] / 1e9)} "
            f"FP32**, **{figure(peak['bytesPerSecond'] / 1e9)} GB/s** copy bandwidth (reads + writes).")
    add("")

    # Phases.
    add("| phase | status | seconds | limit (s) | note |")
    add("| --- | --- | --- | --- | --- |")
    for number, name in enumerate(PHASES, 1):
        s = status[name]
        add(f"| {number} {name} | {s.get('status', 'not run (missing)')} | {s.get('seconds', '–')} | "
            f"{s.get('limit_seconds', '–')} | {s.get('note', '')} |")
    add("")

    # Correctness.
    verify = parse_json(check, "verify.json")
    if verify:
        # A skipped row (the device declined the operation) carries its reason and is no failure.
        failures = [r for r in verify.get("results", []) if not r.get("passed") and not r.get("skipped")]
        skips = [r for r in verify.get("results", []) if r.get("skipped")]
        add(f"**Correctness** (`cltrain verify`, against the CPU reference): {verify.get('passed', 0)} passed, "
            f"{verify.get('failed', 0)} failed" + (f", {len(skips)} skipped." if skips else "."))
        for r in failures[:10]:
            add(f"- FAILED: {r.get('operation')} {r.get('shape')}: max rel. error {figure(r.get('maxRelError'))}")
        for r in skips[:10]:
            add(f"- SKIPPED: {r.get('operation')} {r.get('shape')}: {r.get('skipped')}")
    else:
        add("**Correctness**: no `verify.json` (see the check phase's log).")
    add("")

    # Tuner.
    tune = text(phases.get("tune", {}), "tune.txt")
    if tune:
        best = re.search(r"^  best: (.*)$", tune, re.M)
        tried = re.search(r"^  tried .*$", tune, re.M)
        entry = re.search(r"^  entry for KernelParameters.table.*\n((?:    .*\n?)+)", tune, re.M)
        add("**Gemm tuner** (`cltrain-bench tune --time-budget`): "
            + (best.group(1) if best else "no verified set") + (f"; {tried.group(0).strip()}" if tried else "") + ".")
        if entry:
            add("")
            add("The row for `KernelParameters.table` (Sources/CLTrain/Backends/OpenCL/KernelParameters.swift):")
            add("")
            add("```swift")
            add("\n".join(line[4:] for line in entry.group(1).rstrip("\n").splitlines()))
            add("```")
    else:
        add("**Gemm tuner**: not run.")
    add("")

    # Kernels.
    peer_header = "PyTorch (cuBLAS/cuDNN), same run"
    add(f"| case | CLTrain median ms | CLTrain rate | % of peak | CLBlast, same run | CLTrain/CLBlast | {peer_header} | "
        "CLTrain/PyTorch | goal |")
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    goal_lines = []
    results = [r for b in bench for r in b.get("results", [])]
    for r in results:
        name = r["case"]
        if r.get("error") or not r.get("time"):
            add(f"| {name} | failed: {r.get('error', 'no time')[:80]} | | | | | | | |")
            continue
        ms = r["time"]["median"] * 1e3
        ref = r.get("reference")
        if ref:
            clblast = f"{figure(ref['time']['median'] * 1e3)} ms" + (
                f", {flops_text(ref['gigaflopsPerSecond'])}" if ref.get("gigaflopsPerSecond") else "")
            clblast_ratio = ratio(ref["time"]["median"] / r["time"]["median"])
        elif r.get("referenceError"):
            clblast, clblast_ratio = "failed", "–"
        elif r.get("flops") is not None and "gemm" in name:
            note = (device or {}).get("referenceNote")
            clblast = note or ("not run (--quick: one gemm only)" if quick else "not run")
            clblast_ratio = "–"
        else:
            clblast, clblast_ratio = "", ""
        gpu_name = name if name in PEERS else STAND_INS.get(name, name)
        peer_text, peer_ratio, goal = "", "", GOALS.get(gpu_name, "")
        if gpu_name in PEERS:
            key, kind, label = PEERS[gpu_name]
            missing = no_peers or (gpu_name != name and "a stand-in shape: the peers ran at the GPU's shapes only")
            if missing:
                peer_text = f"not measured ({missing})"
                peer_ratio = "–"
            elif key in peers:
                value = peers[key]
                if kind == "rate":
                    speed = (r.get("gigaflopsPerSecond") or 0) / value if value else None
                    share = f" ({figure(100 * value * 1e9 / peak['flopsPerSecond'], 3)} % of peak)" if peak else ""
                    peer_text = f"{label} {flops_text(value)}{share}"
                else:
                    speed = value / ms if ms else None
                    peer_text = f"{label} {figure(value)} ms"
                peer_ratio = ratio(speed)
                if goal:
                    verdict = "met" if speed is not None and speed >= 1 else "missed"
                    goal = f"{goal}: **{verdict}**"
                    goal_lines.append(f"- {name}: {goal.split(':')[0]}: {verdict} ({ratio(speed)})")
            else:
                peer_text, peer_ratio = f"{key} missing", "–"
        add(f"| {name} | {figure(ms)} | {rate_text(r)} | {figure(r.get('percentOfPeak'), 3)} | {clblast} | {clblast_ratio} | "
            f"{peer_text} | {peer_ratio} | {goal} |")
    if not results:
        add("| (no cltrain-bench results) | | | | | | | | |")
    add("")
    add("CLTrain/peer is CLTrain's speed over the peer's (peer time ÷ CLTrain's time): above 1.00× CLTrain is faster. "
        "% of peak: of the FP32 peak for cases counted in FLOPs, of the copy bandwidth for memory-bound ones "
        "(OperationCost.swift counts both).")
    add("")

    # Training.
    add_training(add, training, peers, no_peers, goal_lines, rehearsal)

    add_translation(add, phases.get("translate", {}), rehearsal)

    # Tests.
    tests = text(phases.get("tests", {}), "tests.txt")
    if tests:
        summary = [l.strip() for l in tests.splitlines() if re.search(r"Test run with|Executed \d+ tests", l)]
        failed = [l.strip() for l in tests.splitlines() if "✘" in l][:5]
        add("**Swift Testing suite** on the device: " + ("; ".join(summary[-2:]) if summary else "no summary line "
            f"({status['tests'].get('status', 'not run')})"))
        for l in failed:
            add(f"- {l}")
    else:
        add(f"**Swift Testing suite**: {status['tests'].get('status', 'not run')}.")
    add("")

    if not rehearsal:
        add("**Goals** (issue 11): " + ("" if goal_lines else "none could be judged (peers or figures missing)."))
        lines.extend(goal_lines)
    print("\n".join(lines).rstrip() + "\n")
    return 0


def words_per_second(data, warmup, key="tokens_per_second"):
    """Median `key` (the language model's tokens/s, translation's source + target words/s) of the
    logged steps after the warm-up ones, and how many were counted."""
    if data is None:
        return None, 0
    rates = []
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("type") == "step" and record.get("step", 0) > warmup:
            rates.append(record[key])
    return (statistics.median(rates), len(rates)) if rates else (None, 0)


def add_training(add, training, peers, no_peers, goal_lines, rehearsal):
    shape_text = text(training, "shape.txt") or ""
    warmup = int(re.search(r"warmup_steps (\d+)", shape_text).group(1)) if "warmup_steps" in shape_text else 2
    shape = shape_text.splitlines()[0] if shape_text else "?"
    one, one_count = words_per_second(training.get("train-one-queue.jsonl"), warmup)
    four, four_count = words_per_second(training.get("train-four-queues.jsonl"), warmup)
    predictions = {}
    for name in ("plan.txt", "plan-four-copies.txt"):
        found = re.search(r"^wavefront \(2014\)\s+\S+\s+(\d+)\s+([\d.]+)", text(training, name) or "", re.M)
        predictions[name] = found
    add(f"**Training** (`cltrain train --data synthetic {shape} --optimizer sgd --clip 5`; words/s: median of the "
        f"steps after the first {warmup}):")
    add("")
    add("| run | words/s | steps counted | CLTrain/PyTorch | note |")
    add("| --- | --- | --- | --- | --- |")
    lm = None if no_peers else peers.get(LM_PEER)
    for label, value, count, note in [("one queue", one, one_count, ""),
                                      ("four queues: layers pipelined, softmax split 4 ways", four, four_count,
                                       f"speedup {ratio(four / one)} over one queue" if one and four else "")]:
        versus = ratio(value / lm) if lm and value else ("not measured (" + (no_peers or "missing") + ")" if not lm else "–")
        add(f"| {label} | {figure(value)} | {count} | {versus} | {note} |")
    if lm:
        add(f"| PyTorch, same run (cuDNN LSTM, SGD + clip) | {figure(lm)} | 5 | 1.00× | torch_anchor.py |")
    add("")
    same, copies = predictions["plan.txt"], predictions["plan-four-copies.txt"]
    add("`cltrain plan`'s prediction of the four-queue run: "
        + (f"{same.group(1)} words/s, {same.group(2)}× over one queue, for this layout as it sees it (every part on "
           "one device, so no overlap); " if same else "not available for the layout itself (plan.txt); ")
        + (f"{copies.group(1)} words/s, {copies.group(2)}× for four simulated copies of this device (the ceiling "
           "if the queues worked concurrently without sharing it)." if copies else "not available for four copies "
           "(plan-four-copies.txt)."))
    add("")
    if not rehearsal and lm and one:
        best = max(one, four or 0)
        goal_lines.append(f"- training words/s ≥ PyTorch: {'met' if best >= lm else 'missed'} ({ratio(best / lm)})")
    if not rehearsal and one and four:
        goal_lines.append(f"- four-queue speedup {ratio(four / one)}, beside the simulator's "
                          + (f"{copies.group(2)}× for four concurrent copies" if copies else "prediction (not available)")
                          + (f" and {same.group(2)}× for one device" if same else ""))


def add_translation(add, translation, rehearsal):
    """The 2014 encoder–decoder's words/s (the paper's count: source + target words): one queue,
    then pipelined, beside the simulator's prediction and the paper's 1 700 and 6 300 words/s."""
    if not translation:
        return
    shape_text = text(translation, "shape.txt") or ""
    warmup = int(re.search(r"warmup_steps (\d+)", shape_text).group(1)) if "warmup_steps" in shape_text else 2
    shape = shape_text.splitlines()[0] if shape_text else "?"
    one, one_count = words_per_second(translation.get("translate-one-queue.jsonl"), warmup, "words_per_second")
    piped, piped_count = words_per_second(translation.get("translate-pipelined.jsonl"), warmup, "words_per_second")
    add(f"**Translation** (`cltrain train --task translate` on synthetic pairs, {shape}, SGD 0.7 + clip 5; "
        f"words/s: source + target words, median of the steps after the first {warmup}):")
    add("")
    add("| run | words/s | steps counted | note |")
    add("| --- | --- | --- | --- |")
    add(f"| one queue | {figure(one)} | {one_count} | {'' if rehearsal else 'the paper: about 1 700 on one GPU'} |")
    note = f"speedup {ratio(piped / one)} over one queue" if one and piped else ""
    if not rehearsal:
        note += ("; " if note else "") + "the paper: 6 300 on 8 GPUs (3.7×)"
    add(f"| 8 queues: layer k of both stacks on queue k, softmax over 4, pipelined | {figure(piped)} | {piped_count} | {note} |")
    add("")
    found = re.search(r"^prediction.*$", text(translation, "plan.txt") or "", re.M)
    add("`cltrain plan --task translate` for this layout: " + (found.group(0) if found else "not available (plan.txt)") + ".")
    add("")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
