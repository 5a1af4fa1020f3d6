"""LanguageModel: learns, ties weights, initialises as documented, and runs under DDP."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from seqcli.models.lm import LanguageModel, LanguageModelConfig
from seqcli.models.rnn import CELL_TYPES

VOCAB = 8


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # Tensors this small lose more to thread hand-offs than they gain, several times over
    # when the two cores of a CI runner are shared.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_config(cell: str = "lstm", **changes: object) -> LanguageModelConfig:
    sizes = {"embedding_dim": 32, "hidden_size": 32, "num_layers": 2, "dropout": 0.0}
    return LanguageModelConfig(vocab_size=VOCAB, cell=cell, **{**sizes, **changes})


def next_token_loss(model: LanguageModel, sequence: torch.Tensor) -> torch.Tensor:
    logits, _ = model(sequence[:, :-1])  # (B, T, V)
    return F.cross_entropy(logits.reshape(-1, VOCAB), sequence[:, 1:].reshape(-1))


@pytest.mark.parametrize("cell", list(CELL_TYPES))
def test_lm_overfits_a_twenty_token_sequence(cell: str) -> None:
    # Random tokens from a small vocabulary: the next token depends on the history, so only
    # a working recurrence (not the embedding alone) can drive the loss to zero.
    sequence = torch.randint(VOCAB, (1, 21), generator=torch.Generator().manual_seed(1))
    model = LanguageModel(tiny_config(cell))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    first_loss = loss = next_token_loss(model, sequence)
    for _ in range(200):
        if loss.item() < 0.1:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss = next_token_loss(model, sequence)
    assert first_loss.item() > 1.5 and loss.item() < 0.1


def test_forward_gives_logits_per_step_and_a_state_to_continue_from() -> None:
    model = LanguageModel(tiny_config("gru-textbook")).eval()
    tokens = torch.randint(VOCAB, (3, 7))
    logits, state = model(tokens)
    assert logits.shape == (3, 7, VOCAB) and state.shape == (2, 3, 32)
    first, state = model(tokens[:, :4])
    second, _ = model(tokens[:, 4:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), logits, atol=1e-5, rtol=0)


def test_tie_weights_shares_the_very_same_parameter() -> None:
    tied = LanguageModel(tiny_config(tie_weights=True))
    untied = LanguageModel(tiny_config(tie_weights=False))
    assert tied.projection.weight is tied.embedding.weight
    assert untied.projection.weight is not untied.embedding.weight
    count = sum(p.numel() for p in untied.parameters()) - sum(p.numel() for p in tied.parameters())
    assert count == VOCAB * 32


def test_tie_weights_needs_equal_embedding_and_hidden_sizes() -> None:
    with pytest.raises(ValueError, match="embedding_dim == hidden_size"):
        tiny_config(tie_weights=True, embedding_dim=16)


def test_default_init_follows_word_language_model() -> None:
    model = LanguageModel(tiny_config())
    for weight in (model.embedding.weight, model.projection.weight):
        assert 0.09 < weight.abs().max() <= 0.1
    assert not model.projection.bias.any()


@pytest.mark.parametrize("cell", ["lstm", "lstm-peephole"])
def test_init_range_bounds_every_parameter(cell: str) -> None:
    model = LanguageModel(tiny_config(cell, init_range=0.05))
    for name, parameter in model.named_parameters():
        # The default schemes give ±0.1 (embeddings) and ±1/sqrt(32) ≈ 0.18 (recurrent).
        assert 0.04 < parameter.abs().max() <= 0.05, name


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"vocab_size": 0}, "vocab_size"),
        ({"cell": "transformer"}, "unknown cell"),
        ({"hidden_size": 0}, "hidden_size"),
        ({"dropout": 1.0}, "dropout"),
        ({"init_range": 0.0}, "init_range"),
    ],
)
def test_config_rejects_bad_values(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LanguageModelConfig(**{"vocab_size": VOCAB, **changes})


def test_config_round_trips_through_json() -> None:
    config = tiny_config("lstm-peephole", tie_weights=True, init_range=0.1)
    assert LanguageModelConfig(**json.loads(json.dumps(dataclasses.asdict(config)))) == config
    assert LanguageModel(config).config == config


def test_trains_under_distributed_data_parallel(tmp_path: Path) -> None:
    """One gloo process is enough to catch parameters DDP cannot see or state it cannot sync."""
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        model = DistributedDataParallel(LanguageModel(tiny_config("lstm-textbook", tie_weights=True)))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        sequence = torch.randint(VOCAB, (2, 9))
        for _ in range(2):
            logits, _ = model(sequence[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, VOCAB), sequence[:, 1:].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        assert all(p.grad is not None for p in model.parameters())
    finally:
        dist.destroy_process_group()
