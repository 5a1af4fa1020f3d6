"""The sequence tagger: one tag per word from a bidirectional recurrent encoder.

word embedding ⊕ character features (:mod:`seqcli.models.chars`) → dropout →
bidirectional :class:`~seqcli.models.rnn.RecurrentStack` → dropout → linear to one score
per tag (the emissions), then either a softmax per word or a linear-chain CRF over the
sentence (:mod:`seqcli.models.crf`). The bidirectional encoder is the BRNN of the course:
``ŷ<t> = g(W_y [→a<t>, ←a<t>] + b_y)`` sees the words to the right of ``t`` too ("Teddy"
needs "Roosevelt"). The recipe is Lample et al. 2016 (LSTM-CRF with char BiLSTM) and
Plank et al. 2016 (BiLSTM POS tagging with char features).

Both outputs decode with Viterbi under the tag scheme's constraints: the CRF with its
learned transitions, the softmax with log-probabilities and transition scores of 0 (only
the forbidden steps masked), so neither ever prints an ill-formed tag sequence.

>>> model = Tagger(TaggerConfig(vocab_size=20, num_tags=5, embedding_dim=8, hidden_size=6,
...                             char_vocab_size=12, char_embedding_dim=4, char_hidden_size=3))
>>> words, lengths = torch.ones(2, 4, dtype=torch.long), torch.tensor([4, 2])
>>> chars, char_lengths = torch.ones(3, 5, dtype=torch.long), torch.tensor([5, 1, 2])
>>> word_chars = torch.tensor([[0, 1, 2, 0], [1, 2, 0, 0]])
>>> emissions = model(words, lengths, chars, char_lengths, word_chars)
>>> tuple(emissions.shape), tuple(model.decode(emissions, lengths).shape)
((2, 4, 5), (2, 4))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqcli.decode.viterbi import viterbi
from seqcli.models.chars import CharConfig, CharEncoder
from seqcli.models.crf import FORBIDDEN, LinearChainCRF
from seqcli.models.dropout import LockedDropout
from seqcli.models.rnn import RecurrentConfig, RecurrentStack

__all__ = ["Allowed", "Tagger", "TaggerConfig"]

Allowed = tuple[Sequence[bool], Sequence[Sequence[bool]], Sequence[bool]]
"""``(start, transitions, end)`` booleans of the tag scheme; see ``allowed_transitions``."""


@dataclass(frozen=True)
class TaggerConfig:
    """Everything needed to rebuild a :class:`Tagger`; ``char_vocab_size=0`` means no
    character features. ``hidden_size`` is per direction. ``locked_dropout`` drops the
    same encoder input and output units at every word of a sentence
    (:class:`~seqcli.models.dropout.LockedDropout`) instead of fresh ones at each word;
    between layers the recurrent stack's own dropout applies either way."""

    vocab_size: int
    num_tags: int
    embedding_dim: int = 100
    cell: str = "lstm"
    hidden_size: int = 200
    num_layers: int = 2
    dropout: float = 0.33
    crf: bool = False
    freeze_embeddings: bool = False
    char_vocab_size: int = 0
    char_encoder: str = "lstm"
    char_embedding_dim: int = 100
    char_hidden_size: int = 200
    locked_dropout: bool = False

    def __post_init__(self) -> None:
        for name in ("vocab_size", "num_tags", "embedding_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        self.char_config()
        self.recurrent_config()

    def char_config(self) -> CharConfig | None:
        if not self.char_vocab_size:
            return None
        return CharConfig(
            self.char_vocab_size, self.char_embedding_dim, self.char_hidden_size, self.char_encoder
        )

    def recurrent_config(self) -> RecurrentConfig:
        chars = self.char_config()
        return RecurrentConfig(
            input_size=self.embedding_dim + (chars.output_size if chars else 0),
            hidden_size=self.hidden_size,
            cell=self.cell,
            num_layers=self.num_layers,
            dropout=self.dropout,
            bidirectional=True,
        )


class Tagger(nn.Module):
    """Emissions ``(B, T, K)`` from word ids and character features; loss and decoding."""

    def __init__(self, config: TaggerConfig, allowed: Allowed | None = None) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=0)
        self.embedding.weight.requires_grad_(not config.freeze_embeddings)
        chars = config.char_config()
        self.chars = CharEncoder(chars) if chars else None
        self.dropout = LockedDropout(config.dropout) if config.locked_dropout else nn.Dropout(config.dropout)
        self.rnn = RecurrentStack(config.recurrent_config())
        self.output = nn.Linear(self.rnn.output_size, config.num_tags)
        # The CRF module also holds the scheme's mask for softmax decoding (its transition
        # parameters then stay unused at zero and get no gradient).
        self.crf = LinearChainCRF(config.num_tags, allowed)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Embeddings uniform in ±sqrt(3 / dim), variance 1/dim (Lample et al. 2016): the
        default N(0, 1) is so large next to Adam's step that the embeddings barely move."""
        bound = (3.0 / self.config.embedding_dim) ** 0.5
        with torch.no_grad():
            self.embedding.weight.uniform_(-bound, bound)
            self.embedding.weight[0].zero_()  # <pad>

    def forward(
        self,
        words: Tensor,
        lengths: Tensor,
        chars: Tensor | None = None,
        char_lengths: Tensor | None = None,
        word_chars: Tensor | None = None,
        tags: Tensor | None = None,
    ) -> Tensor:
        """Emission scores of every tag at every word, or with ``tags`` the summed loss.

        ``words: (B, T)`` ids (0 = padding); ``lengths: (B,)`` >= 1. With character
        features: ``chars: (W, C)`` and ``char_lengths: (W,)`` spell W distinct words and
        ``word_chars: (B, T)`` says which of them stands at each position.
        Returns ``emissions: (B, T, K)`` (rows past a sentence's length are meaningless),
        or given gold ``tags: (B, T)`` the scalar :meth:`loss` of those emissions, so that
        training goes through ``forward`` (as DistributedDataParallel needs).
        """
        embedded = self.embedding(words)  # (B, T, E)
        if self.chars is not None:
            spelled = self.chars(chars, char_lengths)  # (W, C_out)
            embedded = torch.cat([embedded, spelled[word_chars]], dim=2)  # (B, T, E + C_out)
        outputs, _ = self.rnn(self.dropout(embedded), lengths=lengths)  # (B, T, 2H)
        emissions = self.output(self.dropout(outputs))
        return emissions if tags is None else self.loss(emissions, tags, lengths)

    def loss(self, emissions: Tensor, tags: Tensor, lengths: Tensor) -> Tensor:
        """Summed loss of a batch (a scalar): the CRF's negative log-likelihood summed over
        sentences, or the softmax cross-entropy summed over words; ``tags: (B, T)``."""
        if self.config.crf:
            return self.crf.neg_log_likelihood(emissions, tags, lengths).sum()
        mask = torch.arange(tags.size(1), device=tags.device)[None, :] < lengths.to(tags.device)[:, None]
        return F.cross_entropy(emissions[mask].float(), tags[mask], reduction="sum")

    def decode(self, emissions: Tensor, lengths: Tensor) -> Tensor:
        """Best well-formed tag ids ``(B, T)`` (0 past each length) by Viterbi."""
        return self.decode_with_scores(emissions, lengths)[0]

    def decode_with_scores(self, emissions: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Best tags ``(B, T)`` and a confidence per word ``(B, T)``: the softmax of the
        emissions at the chosen tag (for a CRF too, where it ignores the transitions)."""
        if self.config.crf:
            paths, _ = self.crf.decode(emissions, lengths)
        else:
            log_probs = emissions.float().log_softmax(dim=2)
            zeros = torch.zeros(self.config.num_tags, device=emissions.device)
            transitions = torch.zeros_like(self.crf.transitions, dtype=torch.float32)
            masked = (
                transitions.masked_fill(~self.crf.allowed, FORBIDDEN),
                zeros.masked_fill(~self.crf.allowed_start, FORBIDDEN),
                zeros.masked_fill(~self.crf.allowed_end, FORBIDDEN),
            )
            paths, _ = viterbi(log_probs, *masked, lengths)
        probs = emissions.float().softmax(dim=2).gather(2, paths[:, :, None]).squeeze(2)
        return paths, probs
