"""The encoder–decoder translator: a bidirectional recurrent encoder, a recurrent decoder
with attention and input feeding, and the plain encoder–decoder without attention.

Encoder: source embeddings → bidirectional :class:`~seqcli.models.rnn.RecurrentStack`
(``hidden_size // 2`` units per direction, so its outputs ``a<t'> = [→a<t'>, ←a<t'>]`` are
``hidden_size`` wide). The decoder's initial state is the encoder's final states, both
directions concatenated layer by layer (the decoder has as many layers as the encoder).

Decoder step t, as in Luong et al. 2015 ("Effective Approaches to Attention-based Neural
Machine Translation", §3 and §3.3 input feeding), with the attention of
:mod:`seqcli.models.attention`:

    s<t>  = RNN([E y<t-1>, h̃<t-1>], s<t-1>)         input feeding: h̃<t-1> joins the input
    α<t>  = softmax(score(s<t>, a<1..T_x>))          padding masked out
    c<t>  = Σ_t' α<t,t'> a<t'>
    h̃<t>  = tanh(W_c [c<t>, s<t>])
    P(y<t> | y<1..t-1>, x) = softmax(W_y h̃<t> + b_y)

With ``attention="none"`` there is no context and no input feeding: ``h̃<t> = s<t>``, the
encoder reaches the decoder only through its final state (Sutskever et al. 2014, Cho et al.
2014). Training uses teacher forcing (the reference ``y<t-1>`` is fed, not the model's
guess); :meth:`Seq2Seq.step` is the one-token interface search runs on.

>>> model = Seq2Seq(Seq2SeqConfig(source_vocab_size=9, target_vocab_size=7, embedding_dim=4,
...                               hidden_size=6))
>>> source, lengths = torch.tensor([[4, 5, 3], [6, 3, 0]]), torch.tensor([3, 2])
>>> tuple(model(source, lengths, torch.tensor([[2, 4], [2, 5]])).shape)
(2, 2, 7)
>>> encoded, state = model.encode(source, lengths)
>>> log_probs, state = model.step(torch.tensor([2, 2]), state, encoded)
>>> tuple(log_probs.shape), tuple(state.weights.shape)
((2, 7), (2, 3))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqcli.models.attention import ATTENTION_TYPES, Attention
from seqcli.models.cells import State
from seqcli.models.packed import linear
from seqcli.models.rnn import RecurrentConfig, RecurrentStack

__all__ = ["DecoderState", "Encoded", "Seq2Seq", "Seq2SeqConfig", "sequence_loss"]


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Everything needed to rebuild a :class:`Seq2Seq`. ``hidden_size`` is the decoder's
    width and the encoder's output width (``hidden_size // 2`` per direction); ``dropout``
    applies to embeddings, between recurrent layers and before the output projection."""

    source_vocab_size: int
    target_vocab_size: int
    cell: str = "gru"
    embedding_dim: int = 256
    hidden_size: int = 512
    num_layers: int = 1
    dropout: float = 0.3
    attention: str = "bahdanau"
    tie_embeddings: bool = False

    def __post_init__(self) -> None:
        for name in ("source_vocab_size", "target_vocab_size", "embedding_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.hidden_size < 2 or self.hidden_size % 2:
            raise ValueError(f"hidden_size must be even (two encoder directions), got {self.hidden_size}")
        if self.attention not in ATTENTION_TYPES:
            choices = ", ".join(ATTENTION_TYPES)
            raise ValueError(f"unknown attention {self.attention!r}; choose one of {choices}")
        if self.tie_embeddings and self.embedding_dim != self.hidden_size:
            raise ValueError(
                "tie_embeddings needs embedding_dim == hidden_size, got "
                f"embedding_dim={self.embedding_dim}, hidden_size={self.hidden_size}"
            )
        self.encoder_config()  # validates cell, layers and dropout where they are defined

    @property
    def has_attention(self) -> bool:
        return self.attention != "none"

    def encoder_config(self) -> RecurrentConfig:
        return RecurrentConfig(
            input_size=self.embedding_dim,
            hidden_size=self.hidden_size // 2,
            cell=self.cell,
            num_layers=self.num_layers,
            dropout=self.dropout,
            bidirectional=True,
        )

    def decoder_config(self) -> RecurrentConfig:
        feed = self.hidden_size if self.has_attention else 0  # input feeding: [E y, h̃]
        return RecurrentConfig(
            input_size=self.embedding_dim + feed,
            hidden_size=self.hidden_size,
            cell=self.cell,
            num_layers=self.num_layers,
            dropout=self.dropout,
        )


class Encoded(NamedTuple):
    """What the decoder reads of a source batch, fixed while decoding it.

    memory: (B, S, H) encoder outputs, zero at padding; keys: (B, S, K) the attention's
    per-sentence part (None without attention); mask: (B, S) True at real positions.
    """

    memory: Tensor
    keys: Tensor | None
    mask: Tensor

    def repeat(self, times: int) -> Encoded:
        """Each sentence ``times`` times in a row: ``(B, …) -> (B*times, …)``, for beams."""
        keys = None if self.keys is None else self.keys.repeat_interleave(times, dim=0)
        memory, mask = self.memory.repeat_interleave(times, dim=0), self.mask.repeat_interleave(times, dim=0)
        return Encoded(memory, keys, mask)


class DecoderState(NamedTuple):
    """The decoder's state between steps; every tensor has the batch first, so search can
    reorder beams by selecting rows of each.

    hidden: (B, L, H), or a pair of them for LSTM-type cells; attentional: (B, H) the last
    ``h̃`` fed back with the next input ((B, 0) without attention); weights: (B, S) the last
    step's attention weights ((B, 0) without attention).
    """

    hidden: State
    attentional: Tensor
    weights: Tensor


class Seq2Seq(nn.Module):
    """Encoder, attention and decoder; see the module docstring for the equations."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        self.source_embedding = nn.Embedding(config.source_vocab_size, config.embedding_dim)
        self.target_embedding = nn.Embedding(config.target_vocab_size, config.embedding_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = RecurrentStack(config.encoder_config())
        self.decoder = RecurrentStack(config.decoder_config())
        self.attention: Attention | None = None
        if config.has_attention:
            self.attention = Attention(config.attention, config.hidden_size, config.hidden_size)
            self.combine = nn.Linear(2 * config.hidden_size, config.hidden_size, bias=False)  # W_c
        self.projection = nn.Linear(config.hidden_size, config.target_vocab_size)
        self.reset_parameters()
        if config.tie_embeddings:
            # Press & Wolf 2017, "Using the Output Embedding to Improve Language Models".
            self.projection.weight = self.target_embedding.weight

    def reset_parameters(self) -> None:
        """Every parameter uniform in ±0.1 (Luong et al. 2015, §4.1)."""
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -0.1, 0.1)

    def encode(self, source: Tensor, lengths: Tensor) -> tuple[Encoded, DecoderState]:
        """``source: (B, S)`` right-padded ids, ``lengths: (B,)`` (>= 1) -> what the decoder
        reads, and its initial state."""
        embedded = self.dropout(self.source_embedding(source))  # (B, S, E)
        memory, final = self.encoder(embedded, lengths=lengths)  # (B, S, H), (L*2, B, H/2)
        mask = torch.arange(source.size(1), device=source.device) < lengths.to(source.device)[:, None]
        keys = None if self.attention is None else self.attention.keys(memory)
        batch = source.size(0)
        width = self.config.hidden_size if self.attention is not None else 0
        state = DecoderState(
            hidden=_map(_join_directions, final),
            attentional=memory.new_zeros(batch, width),
            weights=memory.new_zeros(batch, source.size(1) if width else 0),
        )
        return Encoded(memory, keys, mask), state

    def forward(self, source: Tensor, source_lengths: Tensor, target_inputs: Tensor) -> Tensor:
        """Teacher forcing: ``target_inputs: (B, T)`` = ``<bos> y<1..T-1>`` -> logits
        ``(B, T, V)`` of ``y<1..T>``."""
        encoded, state = self.encode(source, source_lengths)
        embedded = self.dropout(self.target_embedding(target_inputs))  # (B, T, E)
        if self.attention is None:
            # Nothing is fed back, so the whole target runs through the stack at once.
            outputs, _ = self.decoder(embedded, _map(_layer_first, state.hidden))  # (B, T, H)
        else:
            steps = []
            for t in range(target_inputs.size(1)):  # input feeding makes this sequential
                attentional, state = self._decode(embedded[:, t], state, encoded)
                steps.append(attentional)
            outputs = torch.stack(steps, dim=1)  # (B, T, H)
        return self.projection(self.dropout(outputs))

    def step(self, tokens: Tensor, state: DecoderState, encoded: Encoded) -> tuple[Tensor, DecoderState]:
        """One decoder step for search: ``tokens: (B,)`` the previous outputs -> ``log_probs:
        (B, V)`` of the next token and the new state (``encoded`` must have B rows)."""
        embedded = self.dropout(self.target_embedding(tokens))  # (B, E)
        attentional, state = self._decode(embedded, state, encoded)
        logits = linear(self.dropout(attentional), self.projection.weight, self.projection.bias)
        return logits.log_softmax(dim=-1), state

    def _decode(self, embedded: Tensor, state: DecoderState, encoded: Encoded) -> tuple[Tensor, DecoderState]:
        """``embedded: (B, E)`` -> ``h̃<t>: (B, H)`` and the new state."""
        inputs = torch.cat([embedded, state.attentional], dim=1)  # (B, E + H)
        top, hidden = self.decoder.step(inputs, _map(_layer_first, state.hidden))  # s<t>: (B, H)
        if self.attention is None:
            return top, DecoderState(_map(_batch_first, hidden), state.attentional, state.weights)
        context, weights = self.attention(top, encoded.keys, encoded.memory, encoded.mask)
        attentional = torch.tanh(linear(torch.cat([context, top], dim=1), self.combine.weight))  # (B, H)
        return attentional, DecoderState(_map(_batch_first, hidden), attentional, weights)


def sequence_loss(
    logits: Tensor, targets: Tensor, *, pad_id: int, label_smoothing: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Cross-entropy summed over the real target tokens, and their number.

    ``logits: (B, T, V)``, ``targets: (B, T)`` with ``pad_id`` at padding. With label
    smoothing ε (Szegedy et al. 2016, "Rethinking the Inception Architecture", §7) the
    target distribution is ``(1 − ε)`` on the reference plus ``ε / V`` on every token, so
    a token's loss is ``(1 − ε)(−log p_y) + ε · mean_v(−log p_v)``.
    """
    loss = F.cross_entropy(
        logits.flatten(0, 1),
        targets.flatten(),
        ignore_index=pad_id,
        reduction="sum",
        label_smoothing=label_smoothing,
    )
    return loss, (targets != pad_id).sum()


def _map(function, state: State) -> State:
    """Apply ``function`` to ``state``, or part-wise to an ``(h, c)`` pair."""
    if isinstance(state, tuple):
        return tuple(function(part) for part in state)
    return function(state)


def _join_directions(final: Tensor) -> Tensor:
    """Encoder final states ``(L*2, B, H/2)`` -> batch-first ``(B, L, H)``, each layer's
    ``[forward, backward]`` side by side (rows ``l*2 + d`` as :class:`RecurrentStack`)."""
    layers2, batch, half = final.shape
    joined = final.view(layers2 // 2, 2, batch, half).permute(2, 0, 1, 3)  # (B, L, 2, H/2)
    return joined.reshape(batch, layers2 // 2, 2 * half)


def _layer_first(hidden: Tensor) -> Tensor:
    return hidden.transpose(0, 1).contiguous()  # (B, L, H) -> (L, B, H), as the stack wants


def _batch_first(hidden: Tensor) -> Tensor:
    return hidden.transpose(0, 1)  # (L, B, H) -> (B, L, H)
