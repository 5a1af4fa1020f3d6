"""The sentence classifier: a recurrent encoder pooled into one vector, then a softmax.

embedding → dropout → :class:`~seqcli.models.rnn.RecurrentStack` (bidirectional by
default) → pooling over time → dropout → linear to one score per class: the many-to-one
shape of the course (sentiment). Pooling (``--pooling``):

- ``last``: the final state of each direction, ``[→a<T>, ←a<1>]``;
- ``mean``: the average of the outputs over the real steps;
- ``max``: the element-wise maximum over the real steps (Collobert et al. 2011; Conneau et
  al. 2017 found it the best pooling for BiLSTM sentence encoders);
- ``attention``: ``α<t> = softmax_t(v · tanh(W a<t>))``, ``Σ_t α<t> a<t>`` (Yang et al. 2016,
  "Hierarchical Attention Networks").

Every pooling ignores the padding, so a sentence's logits never depend on its batch.

>>> model = Classifier(ClassifierConfig(vocab_size=20, num_classes=3, embedding_dim=8,
...                                     hidden_size=6))
>>> tuple(model(torch.ones(2, 5, dtype=torch.long), torch.tensor([5, 2])).shape)
(2, 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from seqcli.models.rnn import RecurrentConfig, RecurrentStack

__all__ = ["POOLINGS", "Classifier", "ClassifierConfig"]

POOLINGS = ("last", "mean", "max", "attention")


@dataclass(frozen=True)
class ClassifierConfig:
    """Everything needed to rebuild a :class:`Classifier`; ``hidden_size`` per direction."""

    vocab_size: int
    num_classes: int
    embedding_dim: int = 300
    cell: str = "lstm"
    hidden_size: int = 150
    num_layers: int = 1
    bidirectional: bool = True
    pooling: str = "max"
    dropout: float = 0.5
    freeze_embeddings: bool = False

    def __post_init__(self) -> None:
        for name in ("vocab_size", "num_classes", "embedding_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")
        self.recurrent_config()

    def recurrent_config(self) -> RecurrentConfig:
        return RecurrentConfig(
            input_size=self.embedding_dim,
            hidden_size=self.hidden_size,
            cell=self.cell,
            num_layers=self.num_layers,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
        )


class Classifier(nn.Module):
    """Class logits ``(B, K)`` from token ids ``(B, T)`` and lengths ``(B,)``."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=0)
        self.embedding.weight.requires_grad_(not config.freeze_embeddings)
        self.dropout = nn.Dropout(config.dropout)
        self.rnn = RecurrentStack(config.recurrent_config())
        width = self.rnn.output_size
        if config.pooling == "attention":
            self.attention = nn.Sequential(
                nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1, bias=False)
            )
        self.output = nn.Linear(width, config.num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Embeddings uniform in ±sqrt(3 / dim), variance 1/dim: the default N(0, 1) is so
        large next to Adam's step that the embeddings barely move."""
        bound = (3.0 / self.config.embedding_dim) ** 0.5
        with torch.no_grad():
            self.embedding.weight.uniform_(-bound, bound)
            self.embedding.weight[0].zero_()  # <pad>

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        embedded = self.dropout(self.embedding(tokens))  # (B, T, E)
        outputs, state = self.rnn(embedded, lengths=lengths)  # (B, T, D*H)
        pooled = self.pool(outputs, state, lengths)  # (B, D*H)
        return self.output(self.dropout(pooled))

    def pool(self, outputs: Tensor, state: object, lengths: Tensor) -> Tensor:
        """``outputs: (B, T, D*H)`` and the final state -> one vector per sentence ``(B, D*H)``."""
        pooling = self.config.pooling
        if pooling == "last":
            hidden = state[0] if isinstance(state, tuple) else state  # (L*D, B, H)
            directions = self.config.recurrent_config().num_directions
            return torch.cat(list(hidden[-directions:]), dim=1)  # top layer: [forward, backward]
        steps = torch.arange(outputs.size(1), device=outputs.device)
        mask = (steps[None, :] < lengths.to(outputs.device)[:, None])[:, :, None]  # (B, T, 1)
        if pooling == "max":
            return outputs.masked_fill(~mask, float("-inf")).amax(dim=1)
        if pooling == "mean":
            return (outputs * mask).sum(dim=1) / mask.sum(dim=1)
        scores = self.attention(outputs).masked_fill(~mask, float("-inf"))  # (B, T, 1)
        return (scores.softmax(dim=1) * outputs).sum(dim=1)
