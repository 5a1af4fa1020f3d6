"""The recurrent language model: ``P(y<t> | y<1..t-1>)`` for every step of a token batch.

embedding → dropout → :class:`~seqcli.models.rnn.RecurrentStack` → dropout → linear to the
vocabulary, as in pytorch/examples ``word_language_model`` (Zaremba et al. 2014 for dropout
on the non-recurrent connections). The model is pure: token ids in, logits and state out.

>>> import torch
>>> model = LanguageModel(LanguageModelConfig(vocab_size=11, embedding_dim=8, hidden_size=8))
>>> logits, (h, c) = model(torch.zeros(2, 5, dtype=torch.long))
>>> tuple(logits.shape), tuple(h.shape)
((2, 5, 11), (2, 2, 8))
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from seqcli.models.cells import State
from seqcli.models.rnn import RecurrentConfig, RecurrentStack

__all__ = ["LanguageModel", "LanguageModelConfig"]


@dataclass(frozen=True)
class LanguageModelConfig:
    """Everything needed to rebuild a :class:`LanguageModel`; ``dropout`` is used on the
    embeddings, between recurrent layers and before the projection."""

    vocab_size: int
    cell: str = "lstm"
    embedding_dim: int = 200
    hidden_size: int = 200
    num_layers: int = 2
    dropout: float = 0.2
    tie_weights: bool = False
    init_range: float | None = None

    def __post_init__(self) -> None:
        if self.vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {self.vocab_size}")
        self.recurrent_config()  # validates cell, sizes and dropout where they are defined
        if self.tie_weights and self.embedding_dim != self.hidden_size:
            raise ValueError(
                "tie_weights needs embedding_dim == hidden_size, got "
                f"embedding_dim={self.embedding_dim}, hidden_size={self.hidden_size}"
            )
        if self.init_range is not None and self.init_range <= 0:
            raise ValueError(f"init_range must be > 0, got {self.init_range}")

    def recurrent_config(self) -> RecurrentConfig:
        """The recurrent stack's config: embeddings in, ``hidden_size`` out, unidirectional."""
        return RecurrentConfig(
            input_size=self.embedding_dim,
            hidden_size=self.hidden_size,
            cell=self.cell,
            num_layers=self.num_layers,
            dropout=self.dropout,
        )


class LanguageModel(nn.Module):
    """Next-token logits from token ids; see :class:`LanguageModelConfig` for the shape."""

    def __init__(self, config: LanguageModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        # No module at all for p = 0: the overhead bench runs dropout-free models.
        self.dropout = nn.Dropout(config.dropout) if config.dropout > 0 else nn.Identity()
        self.rnn = RecurrentStack(config.recurrent_config())
        self.projection = nn.Linear(config.hidden_size, config.vocab_size)
        if config.tie_weights:
            # Tie input and output embeddings: Press & Wolf 2017, "Using the Output Embedding
            # to Improve Language Models"; Inan et al. 2017, "Tying Word Vectors and Word
            # Classifiers".
            self.projection.weight = self.embedding.weight
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """pytorch/examples' init, or every parameter in ±init_range (Zaremba et al. 2014)."""
        if self.config.init_range is not None:
            for parameter in self.parameters():
                nn.init.uniform_(parameter, -self.config.init_range, self.config.init_range)
            return
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        nn.init.uniform_(self.projection.weight, -0.1, 0.1)
        nn.init.zeros_(self.projection.bias)

    def forward(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """``tokens: (B, T)`` ids, ``state`` as :class:`RecurrentStack`'s (None for zeros)
        -> ``logits: (B, T, V)`` for the token after each position, and the new state."""
        embedded = self.dropout(self.embedding(tokens))  # (B, T, E)
        outputs, state = self.rnn(embedded, state)  # (B, T, H)
        return self.projection(self.dropout(outputs)), state
