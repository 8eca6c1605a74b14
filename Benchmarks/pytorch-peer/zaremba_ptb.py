#!/usr/bin/env python3
"""The PyTorch peer of `cltrain train --data ptb --preset zaremba-small`: time to perplexity.

Zaremba et al. 2014's small model as TensorFlow's ptb_word_lm.py trains it: 2 x 200 LSTM,
embedding 200, weights uniform +-0.1, no dropout, BPTT 20, batch 20, the loss summed over the 20
steps and averaged over the batch, SGD at 1.0 divided by 2 each epoch after epoch 4, gradient norm
clipped at 5, the state carried across batches. The data are the ptb.*.txt files that
scripts/fetch-ptb.sh installs (words split on white space, <eos> at each line's end, the
vocabulary from the training split). After each epoch it scores the validation split at the
training batch and prints one JSON line: epoch, seconds so far, words/s, validation perplexity.
Run by time-to-perplexity.sh beside `cltrain train` at the same settings.
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn as nn


def read_words(path):
    with open(path, encoding="utf-8") as text:
        return [word for line in text for word in line.split() + ["<eos>"]]


def batchify(ids, batch):
    """B streams, each a contiguous part of the split, as (N, B): time-major."""
    length = len(ids) // batch
    return torch.tensor(ids[:length * batch]).view(batch, length).t().contiguous()


class LanguageModel(nn.Module):
    def __init__(self, vocab, hidden, layers, init_scale):
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden)
        self.rnn = nn.LSTM(hidden, hidden, layers)
        self.decoder = nn.Linear(hidden, vocab)
        for p in self.parameters():
            nn.init.uniform_(p, -init_scale, init_scale)

    def forward(self, tokens, state):
        output, state = self.rnn(self.embedding(tokens), state)
        return self.decoder(output), state


def windows(data, bptt):
    for start in range(0, data.size(0) - 1, bptt):
        length = min(bptt, data.size(0) - 1 - start)
        yield data[start:start + length], data[start + 1:start + 1 + length]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(
        os.environ.get("CLTRAIN_DATA_DIR") or os.path.join(
            os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "cltrain"), "ptb"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps-per-epoch", type=int, default=0, help="stop each epoch early (0: the whole split)")
    args = parser.parse_args()
    hidden, layers, init_scale, bptt, batch, clip = 200, 2, 0.1, 20, 20, 5.0

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_words = read_words(os.path.join(args.data, "ptb.train.txt"))
    vocabulary = {word: i for i, word in enumerate(sorted(set(train_words)))}
    train = batchify([vocabulary[w] for w in train_words], batch)
    valid = batchify([vocabulary[w] for w in read_words(os.path.join(args.data, "ptb.valid.txt"))], batch)
    model = LanguageModel(len(vocabulary), hidden, layers, init_scale)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    zeros = torch.zeros(layers, batch, hidden)

    start = time.perf_counter()
    trained_words = 0
    for epoch in range(1, args.epochs + 1):
        for group in optimizer.param_groups:
            group["lr"] = 1.0 / 2 ** max(epoch - 4, 0)
        model.train()
        state = (zeros, zeros.clone())
        for step, (inputs, targets) in enumerate(windows(train, bptt), start=1):
            if args.steps_per_epoch and step > args.steps_per_epoch:
                break
            state = tuple(s.detach() for s in state)
            optimizer.zero_grad(set_to_none=False)
            logits, state = model(inputs, state)
            # Summed over the window's steps, averaged over the batch: ptb_word_lm.py's cost.
            token_mean = nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
            (token_mean * inputs.size(0)).backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            trained_words += inputs.numel()
        seconds = time.perf_counter() - start
        model.eval()
        state, total, count = (zeros, zeros.clone()), 0.0, 0
        with torch.no_grad():
            for inputs, targets in windows(valid, bptt):
                logits, state = model(inputs, state)
                total += nn.functional.cross_entropy(
                    logits.view(-1, logits.size(-1)), targets.reshape(-1), reduction="sum").item()
                count += targets.numel()
        print(json.dumps({
            "program": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
            "epoch": epoch, "training_seconds": seconds, "words_per_second": trained_words / seconds,
            "validation_perplexity": math.exp(total / count),
        }), flush=True)


if __name__ == "__main__":
    main()
