"""Character features of words: one vector per word from its characters.

A word the vocabulary never saw still has characters: its suffix, its capital letter and
its digits tell a tagger much of what its embedding would. Two classic encoders:

- ``lstm``: a bidirectional LSTM over the characters; the final forward and backward
  states are concatenated (Lample et al. 2016, section 4.1; Plank et al. 2016).
- ``cnn``: a convolution over character windows, max-pooled over the word (Ma & Hovy 2016;
  dos Santos & Zadrozny 2014).

Words come as a batch of their own, ``chars: (W, C)`` right-padded character ids with
``lengths: (W,)``, usually the distinct words of a sentence batch, so a word's vector is
computed once however often it occurs, and never depends on the padding.

>>> encoder = CharEncoder(CharConfig(vocab_size=10, embedding_dim=4, hidden_size=3))
>>> tuple(encoder(torch.ones(5, 7, dtype=torch.long), torch.tensor([7, 1, 2, 3, 4])).shape)
(5, 6)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from seqcli.models.rnn import RecurrentConfig, RecurrentStack

__all__ = ["CHAR_ENCODERS", "CharConfig", "CharEncoder"]

CHAR_ENCODERS = ("lstm", "cnn")


@dataclass(frozen=True)
class CharConfig:
    """A :class:`CharEncoder`: ``hidden_size`` per direction (lstm) or filters (cnn)."""

    vocab_size: int
    embedding_dim: int = 25
    hidden_size: int = 25
    encoder: str = "lstm"
    kernel_size: int = 3

    def __post_init__(self) -> None:
        if self.encoder not in CHAR_ENCODERS:
            raise ValueError(f"char encoder must be one of {', '.join(CHAR_ENCODERS)}, got {self.encoder!r}")
        for name in ("vocab_size", "embedding_dim", "hidden_size", "kernel_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    @property
    def output_size(self) -> int:
        return 2 * self.hidden_size if self.encoder == "lstm" else self.hidden_size


class CharEncoder(nn.Module):
    """``chars: (W, C)`` ids (0 = padding), ``lengths: (W,)`` >= 1 -> ``(W, output_size)``."""

    def __init__(self, config: CharConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=0)
        if config.encoder == "lstm":
            self.rnn = RecurrentStack(
                RecurrentConfig(config.embedding_dim, config.hidden_size, "lstm", bidirectional=True)
            )
        else:
            self.conv = nn.Conv1d(
                config.embedding_dim, config.hidden_size, config.kernel_size, padding=config.kernel_size // 2
            )

    def forward(self, chars: Tensor, lengths: Tensor) -> Tensor:
        embedded = self.embedding(chars)  # (W, C, E)
        if self.config.encoder == "lstm":
            _, (hidden, _) = self.rnn(embedded, lengths=lengths)  # hidden: (2, W, H)
            return torch.cat([hidden[0], hidden[1]], dim=1)  # (W, 2H): [forward, backward]
        features = torch.tanh(self.conv(embedded.transpose(1, 2)))  # (W, F, C)
        steps = torch.arange(chars.size(1), device=chars.device)
        padded = steps[None, :] >= lengths.to(chars.device)[:, None]  # (W, C)
        # Padding must never win the max, or a word's vector would depend on its batch.
        return features.masked_fill(padded[:, None, :], float("-inf")).amax(dim=2)  # (W, F)
