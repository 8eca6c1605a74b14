#!/usr/bin/env python3
"""Checks a `cltrain train --tensorboard DIR --metrics FILE` run with TensorBoard's own reader.

Loads DIR with tensorboard's EventAccumulator (as `tensorboard --logdir DIR` does) and requires
exactly the scalars FILE's records imply, tag by tag, step by step, in order:
  step records:       train/loss, train/perplexity (exp of the loss), train/learning_rate,
                      train/grad_norm, train/tokens_per_second
  validation records: valid/loss, valid/perplexity
Event files hold float32, so values match FILE's to float32 precision (NaN to NaN, inf to inf; a
non-finite value in FILE is null, named under "nonFinite"). Run through tensorboard-check.sh.
Usage: tensorboard-check.py DIR FILE
"""
import json
import math
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

STEP_TAGS = {"train/loss": "loss", "train/learning_rate": "learning_rate",
             "train/grad_norm": "gradient_norm", "train/tokens_per_second": "tokens_per_second"}
VALIDATION_TAGS = {"valid/loss": "loss", "valid/perplexity": "perplexity"}


def value(record, key):
    if record.get(key) is None:
        return float(record["nonFinite"][key])  # "inf", "-inf", "nan"
    return float(record[key])


def expected_scalars(path):
    expected = {}
    with open(path) as lines:
        for line in lines:
            record = json.loads(line)
            if record["type"] == "step":
                tags = dict(STEP_TAGS)
                scalars = {tag: value(record, key) for tag, key in tags.items()}
                loss = scalars["train/loss"]
                scalars["train/perplexity"] = math.exp(loss) if loss < 709 else math.inf
            elif record["type"] == "validation":
                scalars = {tag: value(record, key) for tag, key in VALIDATION_TAGS.items()}
            else:
                continue
            for tag, number in scalars.items():
                expected.setdefault(tag, []).append((record["step"], number))
    return expected


def same(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b or (math.isinf(a) and abs(b) > 3.4e38) or (math.isinf(b) and abs(a) > 3.4e38)
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b)) + 1e-37


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    directory, metrics = sys.argv[1:]
    accumulator = EventAccumulator(directory, size_guidance={"scalars": 0})
    accumulator.Reload()
    found = {tag: [(event.step, event.value) for event in accumulator.Scalars(tag)]
             for tag in accumulator.Tags()["scalars"]}
    expected = expected_scalars(metrics)
    problems = []
    if set(found) != set(expected):
        problems.append(f"tags: TensorBoard read {sorted(found)}, the metrics imply {sorted(expected)}")
    for tag in sorted(set(found) & set(expected)):
        got, want = found[tag], expected[tag]
        if [step for step, _ in got] != [step for step, _ in want]:
            problems.append(f"{tag}: steps {[s for s, _ in got]}, expected {[s for s, _ in want]}")
            continue
        for (step, a), (_, b) in zip(got, want):
            if not same(a, b):
                problems.append(f"{tag} at step {step}: TensorBoard read {a!r}, the metrics say {b!r}")
    if problems:
        print("tensorboard-check: MISMATCH\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    points = sum(len(v) for v in found.values())
    print(f"tensorboard-check: {len(found)} tags, {points} scalars match {metrics}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
