"""Scoring and sampling with a language model, from Python (no CLI, no training)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqcli.models.lm import LanguageModel, LanguageModelConfig
from seqcli.tasks.lm_use import SCORE_TOKENS, LoadedModel, evaluate_corpus, generate, score_lines
from seqcli.text import EOS_ID, train_tokenizer
from seqcli.text.char import CharTokenizer

CORPUS = Path(__file__).parents[1] / "data" / "tiny_shakespeare.txt"


@pytest.fixture(autouse=True)
def one_thread():
    """One thread: these models are tiny, and the machine is shared (see seqcli.train.devices)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def loaded_model(tokenizer, *, bptt: int = 35, seed: int = 0) -> LoadedModel:
    torch.manual_seed(seed)
    config = LanguageModelConfig(tokenizer.vocab_size, embedding_dim=12, hidden_size=12, dropout=0.0)
    model = LanguageModel(config).eval()
    return LoadedModel(model, tokenizer, {"data": {"bptt": bptt}}, torch.device("cpu"))


@pytest.fixture(scope="module")
def char_tokenizer():
    return train_tokenizer("char", [CORPUS])


@pytest.fixture(scope="module")
def word_tokenizer():
    return train_tokenizer("word", [CORPUS])


@pytest.fixture(scope="module")
def bpe_tokenizer():
    return train_tokenizer("bpe", [CORPUS], vocab_size=120)


def reference_score(loaded: LoadedModel, ids: list[int]) -> float:
    """One forward pass over the whole sequence: log P of ids[1:] given ids[0]."""
    tokens = torch.tensor([ids])
    with torch.no_grad():
        logits, _ = loaded.model(tokens[:, :-1])
    return -F.cross_entropy(logits[0], tokens[0, 1:], reduction="sum").item()


def long_line(tokenizer_kind: str, characters: int) -> str:
    words = CORPUS.read_text().split()
    text = " ".join(words * (characters // len(" ".join(words)) + 1))
    return text[:characters].rstrip()


@pytest.mark.parametrize("kind", ["char", "word"])
def test_windowed_score_of_a_long_line_equals_one_pass(kind: str, char_tokenizer, word_tokenizer) -> None:
    tokenizer = char_tokenizer if kind == "char" else word_tokenizer
    loaded = loaded_model(tokenizer)
    line = long_line(kind, 6000)
    start = [tokenizer.encode("\n")[0]] if kind == "char" else [EOS_ID]
    ids = start + tokenizer.encode(line) + start
    (windowed,) = score_lines(loaded, [line], max_tokens=37)
    assert windowed.tokens == len(ids) - 1
    assert windowed.log_prob == pytest.approx(reference_score(loaded, ids), rel=1e-4)


def test_scoring_never_runs_more_than_the_token_budget(char_tokenizer) -> None:
    loaded = loaded_model(char_tokenizer)
    shapes: list[tuple[int, ...]] = []
    forward = loaded.model.forward

    def recording(tokens, state=None):
        shapes.append(tuple(tokens.shape))
        return forward(tokens, state)

    loaded.model.forward = recording
    lines = [long_line("char", 20_000), *["a short line"] * 100]
    scores = score_lines(loaded, lines)
    assert len(scores) == 101 and all(math.isfinite(s.log_prob) for s in scores)
    assert max(rows * time for rows, time in shapes) <= SCORE_TOKENS
    assert len(shapes) < 20_000 // SCORE_TOKENS + 10  # windows, not a step per token


def test_batched_scores_equal_each_line_alone_in_input_order(word_tokenizer) -> None:
    loaded = loaded_model(word_tokenizer)
    lines = ["First Citizen:", "", "Before we proceed any further, hear me speak.", "You are all resolved"]
    together = score_lines(loaded, lines, batch_size=3, max_tokens=8)
    alone = [score_lines(loaded, [line])[0] for line in lines]
    for a, b in zip(together, alone, strict=True):
        assert a.tokens == b.tokens and a.log_prob == pytest.approx(b.log_prob, rel=1e-5)
    assert together[1].tokens == 1  # a blank line is its <eos> alone


def test_char_vocabulary_without_newline_scores_no_end_token() -> None:
    tokenizer = CharTokenizer(["<pad>", "<unk>", "<bos>", "<eos>", *"abc "])
    loaded = loaded_model(tokenizer)
    (score,) = score_lines(loaded, ["abc cab"])
    ids = [EOS_ID, *tokenizer.encode("abc cab")]
    assert score.tokens == 7
    assert score.log_prob == pytest.approx(reference_score(loaded, ids), rel=1e-5)


def test_evaluate_counts_tokens_as_an_integer(char_tokenizer, tmp_path: Path) -> None:
    corpus = tmp_path / "valid.txt"
    corpus.write_text(CORPUS.read_text() * 2)
    figures = evaluate_corpus(loaded_model(char_tokenizer), corpus, cache_dir=tmp_path / "cache")
    assert figures["tokens"] == 2 * len(CORPUS.read_text()) and isinstance(figures["tokens"], int)
    assert figures["bpc"] == pytest.approx(figures["loss"] / math.log(2))


def test_sampling_without_a_seed_leaves_torch_global_rng_alone(char_tokenizer) -> None:
    loaded = loaded_model(char_tokenizer)
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    first = generate(loaded, num=2, max_tokens=30)
    second = generate(loaded, num=2, max_tokens=30)
    assert torch.initial_seed() == 1234 and torch.equal(torch.get_rng_state(), before)
    assert [s.text for s in first] != [s.text for s in second]


class AlwaysSays(nn.Module):
    """A stand-in language model that always predicts ``token_id``."""

    def __init__(self, token_id: int, vocab_size: int) -> None:
        super().__init__()
        self.token_id, self.vocab_size = token_id, vocab_size

    def forward(self, tokens, state=None):
        logits = torch.zeros(*tokens.shape, self.vocab_size)
        logits[..., self.token_id] = 10.0
        return logits, torch.zeros(1, tokens.shape[0], 1)


def test_subword_sample_keeps_the_space_before_a_word_initial_piece(bpe_tokenizer) -> None:
    piece = next(
        p
        for p in (bpe_tokenizer.id_to_piece(i) for i in range(4, bpe_tokenizer.vocab_size))
        if p.startswith("▁") and len(p) > 2
    )
    model = AlwaysSays(bpe_tokenizer.piece_to_id(piece), bpe_tokenizer.vocab_size)
    loaded = LoadedModel(model, bpe_tokenizer, {}, torch.device("cpu"))
    (sample,) = generate(loaded, prompt="First", max_tokens=2, temperature=0)
    word = piece[1:]
    assert sample.text == f"First {word} {word}"
    (sample,) = generate(loaded, prompt="First ", max_tokens=1, temperature=0)
    assert sample.text == f"First {word}"


def test_word_sample_continues_after_a_space(word_tokenizer) -> None:
    model = AlwaysSays(word_tokenizer.piece_to_id("the"), word_tokenizer.vocab_size)
    loaded = LoadedModel(model, word_tokenizer, {}, torch.device("cpu"))
    (sample,) = generate(loaded, prompt="hear me", max_tokens=2, temperature=0)
    assert sample.text == "hear me the the"
