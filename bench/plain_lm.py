"""The reference: a plain PyTorch word-level LSTM training loop, no framework.

Written the way pytorch/examples word_language_model writes it (embedding → nn.LSTM →
linear, truncated BPTT with the hidden state detached between windows, SGD with gradient
clipping), so that ``bench/lm.py overhead`` can divide seqcli's throughput by it.
"""

from __future__ import annotations

import time

import torch
from torch import nn


class PlainLM(nn.Module):
    def __init__(self, vocab: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden)
        self.rnn = nn.LSTM(hidden, hidden, layers, batch_first=True)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, tokens, hidden=None):
        output, hidden = self.rnn(self.embedding(tokens), hidden)
        return self.decoder(output), hidden


def plain_tokens_per_second(
    ids: torch.Tensor,
    vocab: int,
    *,
    steps: int,
    warmup: int,
    batch: int = 20,
    bptt: int = 35,
    hidden: int = 200,
    layers: int = 2,
    lr: float = 1.0,
    clip: float = 0.25,
) -> float:
    """Steady-state training throughput (tokens/s) over ``steps`` after ``warmup`` steps."""
    torch.manual_seed(0)
    model = PlainLM(vocab, hidden, layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    rows = ids[: len(ids) // batch * batch].view(batch, -1)
    state, tokens, started = None, 0, 0.0
    for step in range(warmup + steps):
        if step == warmup:
            started, tokens = time.perf_counter(), 0
        start = (step * bptt) % (rows.shape[1] - bptt - 1)
        inputs, targets = rows[:, start : start + bptt], rows[:, start + 1 : start + bptt + 1]
        if state is not None:
            state = tuple(s.detach() for s in state)
        optimizer.zero_grad()
        logits, state = model(inputs, state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        loss.item()
        tokens += targets.numel()
    return tokens / (time.perf_counter() - started)
