"""A CTC acoustic model: convolutional subsampling, a bidirectional recurrent stack, a linear
layer to the output units plus the blank.

    features (B, T, M) ─▶ [Conv2d 3×3 stride 2 + ReLU] × log2(subsampling) ─▶ (B, T', C·M')
        ─▶ RecurrentStack (bidirectional GRU/LSTM) ─▶ (B, T', 2H) ─▶ Linear ─▶ log-softmax (B, T', V)

The convolutions halve time and frequency each; fewer frames make the recurrent stack
cheaper and let one output frame span 40 ms, closer to the length of a character, as in
Deep Speech 2 (Amodei et al. 2016, section 3.2). Padded frames are zeroed after every
convolution, so a batch gives exactly the outputs its utterances give one by one.

CTC (Graves et al. 2006, "Connectionist Temporal Classification"): the network emits one
unit or the blank at every output frame; a frame sequence reads as the units left after
merging repeats and dropping blanks, and the loss is ``-log`` of the summed probability of
every frame sequence that reads as the transcript (``torch.nn.functional.ctc_loss``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqcli.models.rnn import RecurrentConfig, RecurrentStack

__all__ = ["BLANK_ID", "AcousticModel", "AcousticModelConfig", "ctc_loss_sum", "min_ctc_frames"]

BLANK_ID = 0
"""The blank's index in the output layer (the tokenizer's ``<pad>``, never a transcript unit)."""


@dataclass(frozen=True)
class AcousticModelConfig:
    """Shape of an :class:`AcousticModel`; ``vocab_size`` counts the blank."""

    vocab_size: int
    n_mels: int = 80
    subsampling: int = 4
    conv_channels: int = 32
    cell: str = "gru"
    hidden_size: int = 256
    num_layers: int = 3
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.subsampling not in (1, 2, 4, 8):
            raise ValueError(f"subsampling must be 1, 2, 4 or 8, got {self.subsampling}")
        if self.vocab_size < 2:
            raise ValueError(f"vocab_size must be >= 2 (the blank and one unit), got {self.vocab_size}")
        if self.conv_channels < 1:
            raise ValueError(f"conv_channels must be >= 1, got {self.conv_channels}")

    @property
    def conv_layers(self) -> int:
        return int(math.log2(self.subsampling))

    def recurrent_config(self) -> RecurrentConfig:
        bands = self.n_mels
        for _ in range(self.conv_layers):
            bands = (bands + 1) // 2
        width = self.conv_channels * bands if self.conv_layers else self.n_mels
        return RecurrentConfig(
            input_size=width,
            hidden_size=self.hidden_size,
            cell=self.cell,
            num_layers=self.num_layers,
            dropout=self.dropout,
            bidirectional=True,
        )


class AcousticModel(nn.Module):
    """Log-mel frames to per-frame log-probabilities over the units and the blank."""

    def __init__(self, config: AcousticModelConfig) -> None:
        super().__init__()
        self.config = config
        channels = [1] + [config.conv_channels] * config.conv_layers
        self.convs = nn.ModuleList(
            nn.Conv2d(c_in, c_out, kernel_size=3, stride=2, padding=1)
            for c_in, c_out in itertools.pairwise(channels)
        )
        self.rnn = RecurrentStack(config.recurrent_config())
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(self.rnn.output_size, config.vocab_size)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        """Output frames for ``lengths`` input frames: ``ceil(T / 2)`` per convolution."""
        for _ in range(self.config.conv_layers):
            lengths = torch.div(lengths + 1, 2, rounding_mode="floor")
        return lengths

    def forward(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``features: (B, T, M)`` zero-padded, ``lengths: (B,)`` -> ``log_probs: (B, T', V)``
        (zero rows past each end) and ``output_lengths: (B,)``."""
        hidden = features[:, None]  # (B, 1, T, M)
        frames = lengths
        for conv in self.convs:
            hidden = torch.relu(conv(hidden))  # (B, C, T', M')
            frames = torch.div(frames + 1, 2, rounding_mode="floor")
            hidden = hidden * _time_mask(frames, hidden.size(2))[:, None, :, None]
        batch, channels, steps, bands = hidden.shape
        hidden = hidden.permute(0, 2, 1, 3).reshape(batch, steps, channels * bands)  # (B, T', C*M')
        outputs, _ = self.rnn(hidden, lengths=frames.clamp_min(1))
        log_probs = torch.log_softmax(self.output(self.dropout(outputs)).float(), dim=-1)  # (B, T', V)
        return log_probs * _time_mask(frames, steps)[..., None], frames


def _time_mask(lengths: Tensor, steps: int) -> Tensor:
    """``(B, steps)`` float: 1 at real frames, 0 past each length."""
    return (torch.arange(steps, device=lengths.device) < lengths[:, None].to(lengths.device)).float()


def min_ctc_frames(ids: Sequence[int]) -> int:
    """Output frames CTC needs for a transcript: one per unit, plus a blank between repeats.

    >>> min_ctc_frames([5, 5, 7]), min_ctc_frames([])
    (4, 0)
    """
    return len(ids) + sum(a == b for a, b in itertools.pairwise(ids))


def ctc_loss_sum(
    log_probs: Tensor,
    lengths: Tensor,
    targets: Tensor,
    target_lengths: Tensor,
    *,
    zero_infinity: bool = False,
) -> Tensor:
    """Summed CTC loss (nats) of a batch: ``log_probs (B, T', V)``, ``lengths (B,)``,
    ``targets (S,)`` the transcripts' units one after another, ``target_lengths (B,)``.

    Every transcript must fit its frames (:func:`min_ctc_frames`); one that does not gives
    an infinite loss, which the training data checks rule out (``zero_infinity`` counts it
    as 0 instead, for validation sets that keep every utterance).
    """
    return F.ctc_loss(
        log_probs.transpose(0, 1),  # (T', B, V)
        targets.to(torch.long),
        lengths.to(torch.long),
        target_lengths.to(torch.long),
        blank=BLANK_ID,
        reduction="sum",
        zero_infinity=zero_infinity,
    )
