"""CTC decoders: greedy, prefix beam search against brute force, and LM fusion."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from seqcli.decode.ctc import LanguageModelFusion, Lexicon, ctc_greedy, ctc_prefix_beam_search


def collapse(path: tuple[int, ...], blank: int = 0) -> tuple[int, ...]:
    merged = [unit for i, unit in enumerate(path) if i == 0 or unit != path[i - 1]]
    return tuple(unit for unit in merged if unit != blank)


def exhaustive(log_probs: torch.Tensor) -> dict[tuple[int, ...], float]:
    """P(labelling) by summing every frame path: the definition, with no cleverness."""
    steps, units = log_probs.shape
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(units), repeat=steps):
        p = math.exp(sum(float(log_probs[t, k]) for t, k in enumerate(path)))
        totals[collapse(path)] = totals.get(collapse(path), 0.0) + p
    return totals


@pytest.mark.parametrize("seed", range(5))
def test_wide_prefix_beam_finds_the_most_probable_labelling(seed: int) -> None:
    log_probs = torch.randn(5, 3, generator=torch.Generator().manual_seed(seed)).log_softmax(-1)
    totals = exhaustive(log_probs)
    best = max(totals, key=totals.get)
    hypotheses = ctc_prefix_beam_search(log_probs, beam=500, token_prune=0.0)
    assert tuple(hypotheses[0].tokens) == best
    assert hypotheses[0].acoustic == pytest.approx(math.log(totals[best]), abs=1e-6)
    # Every prefix the search kept carries its exact probability.
    for hypothesis in hypotheses:
        assert hypothesis.acoustic == pytest.approx(math.log(totals[tuple(hypothesis.tokens)]), abs=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_beam_one_equals_greedy_when_one_path_dominates(seed: int) -> None:
    log_probs = (6 * torch.randn(1, 30, 6, generator=torch.Generator().manual_seed(seed))).log_softmax(-1)
    greedy = ctc_greedy(log_probs, torch.tensor([30]))[0]
    beam = ctc_prefix_beam_search(log_probs[0], beam=1)[0]
    assert beam.tokens == greedy.tokens
    assert beam.frames == greedy.frames


def test_greedy_respects_lengths_and_reports_frames() -> None:
    ids = torch.tensor([[1, 1, 0, 2, 2, 0, 0, 3], [2, 0, 2, 2, 3, 3, 3, 3]])
    log_probs = torch.nn.functional.one_hot(ids, 4).float().clamp_min(1e-6).log()
    first, second = ctc_greedy(log_probs, torch.tensor([8, 4]))
    assert (first.tokens, first.frames) == ([1, 2, 3], [0, 3, 7])
    assert (second.tokens, second.frames) == ([2, 2], [0, 2])


TEXTS = ["", "a", "b", " "]  # units: blank, "a", "b", space


def admitted(labelling: tuple[int, ...], words: set[str]) -> bool:
    """The definition: every word of the text, between spaces, is a lexicon word."""
    return all(word in words or not word for word in "".join(TEXTS[u] for u in labelling).split(" "))


@pytest.mark.parametrize("seed", range(6))
def test_a_lexicon_admits_only_its_words_and_finds_the_best_transcript_of_them(seed: int) -> None:
    words = {"ab", "b"}
    log_probs = torch.randn(5, 4, generator=torch.Generator().manual_seed(seed)).log_softmax(-1)
    totals = exhaustive(log_probs)
    best = max((labelling for labelling in totals if admitted(labelling, words)), key=totals.get)
    lexicon = Lexicon.of(sorted(words))
    hypotheses = ctc_prefix_beam_search(
        log_probs, beam=500, token_texts=TEXTS, lexicon=lexicon, token_prune=0.0
    )
    assert tuple(hypotheses[0].tokens) == best
    assert hypotheses[0].acoustic == pytest.approx(math.log(totals[best]), abs=1e-6)
    assert all(admitted(tuple(h.tokens), words) for h in hypotheses)


def test_a_lexicon_repairs_a_misspelling_that_greedy_decoding_makes() -> None:
    # Frames spell "a b" best ("a" then space then "b"), but only "ab" and "b" are words.
    frames = [[0.1, 0.8, 0.05, 0.05], [0.3, 0.05, 0.25, 0.4], [0.1, 0.05, 0.8, 0.05]]
    log_probs = torch.tensor(frames).log()
    assert ctc_greedy(log_probs[None], torch.tensor([3]))[0].tokens == [1, 3, 2]
    constrained = ctc_prefix_beam_search(
        log_probs, beam=8, token_texts=TEXTS, lexicon=Lexicon.of(["ab", "b"])
    )
    assert constrained[0].tokens == [1, 2]
    with pytest.raises(ValueError, match="lexicon"):
        ctc_prefix_beam_search(log_probs, beam=8, lexicon=Lexicon.of(["ab"]))


def fixed_lm(preferred: str, strength: float) -> LanguageModelFusion:
    """A character "LM" over {"\\n", a, b, " "} that always prefers one character."""
    vocab = ["\n", "a", "b", " "]
    table = torch.full((4,), -strength)
    table[vocab.index(preferred)] = 0.0
    table = table.log_softmax(0)

    def step(tokens: torch.Tensor, state):
        return table.expand(tokens.size(0), 4), torch.zeros(1, tokens.size(0), 1)

    return LanguageModelFusion(
        step=step, start_tokens=[0], encode=lambda text: [vocab.index(c) for c in text], per_character=True,
        end_tokens=[0], weight=1.0,
    )  # fmt: skip


def test_fusion_changes_the_choice_in_a_close_call() -> None:
    # Frames: blank, then "a" slightly ahead of "b", then blank.
    log_probs = torch.tensor([[0.9, 0.04, 0.03, 0.03], [0.05, 0.5, 0.4, 0.05], [0.9, 0.04, 0.03, 0.03]]).log()
    plain = ctc_prefix_beam_search(log_probs, beam=8, token_texts=TEXTS)[0]
    fused = ctc_prefix_beam_search(log_probs, beam=8, token_texts=TEXTS, fusion=fixed_lm("b", 3.0))[0]
    assert plain.tokens == [1]
    assert fused.tokens == [2]
    assert fused.acoustic < plain.acoustic  # the LM paid for a less likely acoustic choice


def test_word_bonus_counts_words() -> None:
    # "a a" versus "aa": a space is a close call against a blank.
    frames = [[0.1, 0.8, 0.05, 0.05], [0.5, 0.05, 0.05, 0.4], [0.1, 0.8, 0.05, 0.05]]
    log_probs = torch.tensor(frames).log()
    assert ctc_prefix_beam_search(log_probs, beam=8, token_texts=TEXTS)[0].tokens == [1, 1]
    rewarded = ctc_prefix_beam_search(log_probs, beam=8, token_texts=TEXTS, word_bonus=2.0)[0]
    assert rewarded.tokens == [1, 3, 1]


def test_a_word_level_lm_scores_completed_words() -> None:
    """A word LM that knows only "b a" makes "b a" win over the acoustically better "a a"."""
    words = ["<eos>", "<unk>", "a", "b"]
    bigram = {0: {"b": 0.9, "a": 0.05}, 3: {"a": 0.9}, 2: {"<eos>": 0.9}}

    def step(tokens: torch.Tensor, state):
        rows = []
        for token in tokens.tolist():
            probs = torch.full((4,), 0.01)
            for word, p in bigram.get(token, {}).items():
                probs[words.index(word)] = p
            rows.append((probs / probs.sum()).log())
        return torch.stack(rows), torch.zeros(1, tokens.size(0), 1)

    fusion = LanguageModelFusion(
        step=step, start_tokens=[0], encode=lambda word: [words.index(word) if word in words else 1],
        per_character=False, end_tokens=[0], weight=1.0,
    )  # fmt: skip
    frames = [[0.1, 0.5, 0.35, 0.05], [0.1, 0.05, 0.05, 0.8], [0.1, 0.8, 0.05, 0.05]]
    log_probs = torch.tensor(frames).log()
    assert ctc_prefix_beam_search(log_probs, beam=8, token_texts=TEXTS)[0].tokens == [1, 3, 1]
    fused = ctc_prefix_beam_search(log_probs, beam=8, token_texts=TEXTS, fusion=fusion)[0]
    assert fused.tokens == [2, 3, 1]


def stateful_lm(per_character: bool, weight: float) -> LanguageModelFusion:
    """An LM whose every prediction depends on the whole history through its state."""
    vocab = ["\n", "a", "b", " "]

    def step(tokens: torch.Tensor, state):
        state = torch.zeros(1, tokens.size(0), 1) if state is None else state
        state = 0.7 * state + tokens.float()[None, :, None] + 1.0
        logits = torch.sin(state[0] * torch.arange(1.0, 5.0))  # (B, 4)
        return logits.log_softmax(-1), state

    return LanguageModelFusion(
        step=step, start_tokens=[0], encode=lambda text: [vocab.index(c) for c in text],
        per_character=per_character, end_tokens=[0], weight=weight,
    )  # fmt: skip


def lm_log_prob(fusion: LanguageModelFusion, text: str) -> float:
    """The fused LM's score of a whole transcript, fed the way the docstring says."""
    pieces = [text] if fusion.per_character else text.split()
    ids = [i for piece in pieces for i in fusion.encode(piece)] + list(fusion.end_tokens)
    log_probs, state = fusion.step(torch.tensor(fusion.start_tokens), None)
    total = 0.0
    for unit in ids:
        total += float(log_probs[0, unit])
        log_probs, state = fusion.step(torch.tensor([unit]), state)
    return total


@pytest.mark.parametrize("per_character", [True, False])
def test_fused_scores_equal_acoustic_plus_weighted_lm_plus_bonus(per_character: bool) -> None:
    log_probs = (2 * torch.randn(9, 4, generator=torch.Generator().manual_seed(7))).log_softmax(-1)
    fusion = stateful_lm(per_character, weight=0.7)
    hypotheses = ctc_prefix_beam_search(
        log_probs, beam=6, token_texts=TEXTS, fusion=fusion, word_bonus=0.3, token_prune=0.0
    )
    assert len(hypotheses) == 6
    for hypothesis in hypotheses:
        text = "".join(TEXTS[t] for t in hypothesis.tokens).strip(" ")
        text = " ".join(text.split()) if not per_character else text
        expected = hypothesis.acoustic + 0.7 * lm_log_prob(fusion, text) + 0.3 * len(text.split())
        assert hypothesis.score == pytest.approx(expected, abs=1e-4), text
