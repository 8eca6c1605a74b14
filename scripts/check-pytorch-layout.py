#!/usr/bin/env python3
"""Checks that a CLTrain checkpoint means what PyTorch would make of it.

Loads model.safetensors with the `safetensors` package, runs nn.Embedding → nn.LSTM → nn.Linear
with PyTorch's documented equations (gate order i, f, g, o; b_ih + b_hh) in numpy, decodes greedily
from a prompt, and compares the text with `cltrain sample --temperature 0`. Usage:

    pip install safetensors numpy
    python3 scripts/check-pytorch-layout.py CHECKPOINT_DIR "PROMPT" LENGTH CLTRAIN_OUTPUT_FILE
"""
import json, sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

directory, prompt, length, expected_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
path = f"{directory}/model.safetensors"
w = load_file(path)
meta = safe_open(path, "np").metadata()
cfg = json.loads(meta["configuration"])
vocab = json.loads(meta["vocabulary"])
assert vocab["level"] == "char", "this check decodes character-level models"
tokens = vocab["tokens"]
ids = {t: i for i, t in enumerate(tokens)}
L, H = cfg["layers"], cfg["hiddenSize"]
sigmoid = lambda x: 1 / (1 + np.exp(-x))

h = [np.zeros(H, np.float32) for _ in range(L)]
c = [np.zeros(H, np.float32) for _ in range(L)]

def step(token):
    x = w["embedding.weight"][token]
    for l in range(L):
        g = w[f"rnn.weight_ih_l{l}"] @ x + w[f"rnn.bias_ih_l{l}"] + w[f"rnn.weight_hh_l{l}"] @ h[l] + w[f"rnn.bias_hh_l{l}"]
        i, f, gg, o = np.split(g, 4)   # PyTorch's order: input, forget, cell, output
        c[l] = sigmoid(f) * c[l] + sigmoid(i) * np.tanh(gg)
        h[l] = sigmoid(o) * np.tanh(c[l])
        x = h[l]
    return w["decoder.weight"] @ x + w["decoder.bias"]

logits = None
for ch in prompt:
    logits = step(ids.get(ch, 0))
out = []
for _ in range(length):
    nxt = int(np.argmax(logits))
    out.append(tokens[nxt])
    logits = step(nxt)
text = prompt + "".join(out)
expected = open(expected_file).read().rstrip("\n")
print(text)
if text != expected:
    sys.exit(f"MISMATCH with cltrain's output:\n{expected}")
print("OK: PyTorch's LSTM equations on these tensors reproduce cltrain's greedy sample")
