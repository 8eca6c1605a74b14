#!/usr/bin/env python3
"""The PyTorch peer of `cltrain train` on the CPU: the same model and step, timed the same way.

embedding -> nn.LSTM (L layers) -> Linear -> cross_entropy (mean over the B*T tokens), backward,
clip_grad_norm_ at 5, a plain SGD step, the LSTM state detached and carried to the next window
(PyTorch's word_language_model loop), on random tokens 1..V-1 as `--data synthetic` draws them.
Prints one JSON object: the shape, the timed steps and words (tokens) per second over them.
Run by compare.sh, which alternates it with `cltrain train` at the same shape.
"""
import argparse
import json
import time

import torch
import torch.nn as nn


class LanguageModel(nn.Module):
    def __init__(self, vocab, embedding, hidden, layers):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding)
        self.rnn = nn.LSTM(embedding, hidden, layers)
        self.decoder = nn.Linear(hidden, vocab)
        for p in self.parameters():   # uniform +-0.08, as cltrain initialises
            nn.init.uniform_(p, -0.08, 0.08)

    def forward(self, tokens, state):   # tokens (T, B): time-major, as cltrain's windows
        output, state = self.rnn(self.embedding(tokens), state)
        return self.decoder(output), state   # (T, B, V)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab", type=int, required=True)
    parser.add_argument("--embedding", type=int, required=True)
    parser.add_argument("--hidden", type=int, required=True)
    parser.add_argument("--layers", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--bptt", type=int, required=True)
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.7)
    parser.add_argument("--clip", type=float, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = LanguageModel(args.vocab, args.embedding, args.hidden, args.layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    windows = args.warmup + args.steps
    # B streams of windows*T + 1 tokens, cut into windows as TokenStream does.
    stream = torch.randint(1, args.vocab, (args.batch, windows * args.bptt + 1))
    zeros = torch.zeros(args.layers, args.batch, args.hidden)
    state = (zeros, zeros.clone())

    start = None
    for w in range(windows):
        if w == args.warmup:
            start = time.perf_counter()
        window = stream[:, w * args.bptt:(w + 1) * args.bptt + 1].t().contiguous()   # (T + 1, B)
        inputs, targets = window[:-1], window[1:]
        state = tuple(s.detach() for s in state)
        optimizer.zero_grad(set_to_none=False)
        logits, state = model(inputs, state)
        loss = nn.functional.cross_entropy(logits.view(-1, args.vocab), targets.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
    seconds = time.perf_counter() - start
    print(json.dumps({
        "program": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "vocab": args.vocab, "embedding": args.embedding, "hidden": args.hidden, "layers": args.layers,
        "batch": args.batch, "bptt": args.bptt, "steps": args.steps, "seconds": seconds,
        "words_per_second": args.steps * args.batch * args.bptt / seconds, "last_loss": loss.item(),
    }))


if __name__ == "__main__":
    main()
