"""Specification of seqcli.decode.sampling over a bigram model with a fixed table."""

from __future__ import annotations

import math

import pytest
import torch

from seqcli.decode.sampling import filter_logits, sample

EOS = 4
# (V, V) next-token log-probs; row = previous token. Greedy chain: 0→1→2→4, 3→0.
# After eos the model prefers 0, so a sampler that kept emitting past eos would show it.
TABLE = torch.tensor(
    [
        [0.0, 3.0, 1.0, 0.5, -1.0],
        [0.2, 0.0, 2.5, 1.0, 0.0],
        [1.0, 0.3, 0.0, 0.5, 2.0],
        [2.2, 0.0, 1.0, 0.0, 0.5],
        [3.0, 0.0, 0.0, 0.0, 0.0],
    ]
).log_softmax(dim=-1)
V = TABLE.shape[0]
N = 20_000
CHI2_CRITICAL = 18.47  # chi-square with V - 1 = 4 degrees of freedom at p = 0.001


def bigram_step(tokens, state):
    return TABLE[tokens], state


def counting_step(calls):
    def step(tokens, state):
        calls.append(tokens.shape[0])
        return TABLE[tokens], state

    return step


def seeded(seed):
    return torch.Generator().manual_seed(seed)


def starts(*ids):
    return torch.tensor(ids, dtype=torch.long)


def replayed_log_prob(start, ids):
    prev, total = start, 0.0
    for token in ids:
        total, prev = total + TABLE[prev, token].item(), token
    return total


def chi_square(ids, probs):
    counts = torch.bincount(torch.tensor(ids), minlength=V).double()
    expected = probs.double() * len(ids)
    return ((counts - expected) ** 2 / expected).sum().item()


def test_temperature_zero_is_greedy():
    out = sample(bigram_step, None, starts(0, 3), max_tokens=5, temperature=0)
    assert out.tokens == [[1, 2, 4, 0, 1], [0, 1, 2, 4, 0]]


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_one_step_frequencies_match_tempered_softmax(temperature):
    prompts, generator = starts(*[0] * N), seeded(0)
    out = sample(bigram_step, None, prompts, max_tokens=1, temperature=temperature, generator=generator)
    expected = (TABLE[0] / temperature).softmax(dim=-1)
    assert chi_square([row[0] for row in out.tokens], expected) < CHI2_CRITICAL


def test_each_row_of_a_batch_has_its_own_distribution():
    out = sample(bigram_step, None, starts(*[0] * N, *[3] * N), max_tokens=1, generator=seeded(1))
    first = [row[0] for row in out.tokens]
    assert chi_square(first[:N], TABLE[0].exp()) < CHI2_CRITICAL
    assert chi_square(first[N:], TABLE[3].exp()) < CHI2_CRITICAL


def test_batched_greedy_rows_equal_one_at_a_time():
    prompts = [0, 3, 1, 2, 4]
    batched = sample(bigram_step, None, starts(*prompts), max_tokens=6, temperature=0, eos_id=EOS)
    for row, prompt in enumerate(prompts):
        alone = sample(bigram_step, None, starts(prompt), max_tokens=6, temperature=0, eos_id=EOS)
        assert batched.tokens[row] == alone.tokens[0]
        assert batched.log_probs[row].item() == pytest.approx(alone.log_probs[0].item())


# At T = 0.5 the nucleus after 2 is {4} alone; filtering before tempering would also keep 0.
@pytest.mark.parametrize(("top_k", "top_p", "temperature"), [(2, None, 1.0), (None, 0.6, 0.5), (3, 0.8, 1.0)])
def test_filtered_sampling_never_leaves_the_kept_set(top_k, top_p, temperature):
    allowed = filter_logits(TABLE / temperature, top_k=top_k, top_p=top_p).isfinite()  # (V, V)
    prompts = starts(*[0, 1, 2, 3] * 500)
    options = {"top_k": top_k, "top_p": top_p, "temperature": temperature, "generator": seeded(2)}
    out = sample(bigram_step, None, prompts, max_tokens=6, **options)
    for prompt, ids in zip(prompts.tolist(), out.tokens, strict=True):
        for prev, token in zip([prompt, *ids], ids, strict=False):
            assert allowed[prev, token], (prev, token)


# Row 0 has probabilities 0.5 (id 1), 0.25 (id 3) and a tie of 0.125 (ids 0 and 2).
@pytest.mark.parametrize(
    ("top_k", "top_p", "kept"),
    [
        (1, None, {1}),
        (2, None, {1, 3}),
        (3, None, {0, 1, 2, 3}),  # id 0 ties with the 3rd largest: both kept
        (10, None, {0, 1, 2, 3}),
        (None, 0.3, {1}),
        (None, 0.6, {1, 3}),
        (None, 0.8, {0, 1, 2, 3}),  # 0.75 is short of 0.8; the tie at the boundary is kept
        (None, 1.0, {0, 1, 2, 3}),
        (2, 0.6, {1}),  # nucleus of the renormalised top-2: 2/3 already reaches 0.6
    ],
)
def test_filter_logits_keeps_exactly_the_top_k_then_the_nucleus(top_k, top_p, kept):
    logits = torch.tensor([[0.125, 0.5, 0.125, 0.25]]).log() + 7.0  # shift: any offset works
    filtered = filter_logits(logits, top_k=top_k, top_p=top_p)
    kept_mask = torch.tensor([[i in kept for i in range(4)]])
    assert torch.equal(filtered[kept_mask], logits[kept_mask])
    assert (filtered[~kept_mask] == -math.inf).all()


def test_nucleus_of_a_uniform_row_keeps_every_tied_token():
    filtered = filter_logits(torch.zeros(2, 4), top_k=None, top_p=0.3)
    assert filtered.isfinite().all()


def test_stops_at_eos_including_it_while_other_rows_continue():
    calls = []
    out = sample(counting_step(calls), None, starts(0, 3), max_tokens=10, temperature=0, eos_id=EOS)
    assert out.tokens == [[1, 2, 4], [0, 1, 2, 4]]
    assert calls == [2, 2, 2, 2]  # whole batch per step; stops once every row is done
    expected = [replayed_log_prob(0, [1, 2, 4]), replayed_log_prob(3, [0, 1, 2, 4])]
    assert out.log_probs.tolist() == pytest.approx(expected)


def test_stops_at_max_tokens():
    calls = []
    out = sample(counting_step(calls), None, starts(0, 3), max_tokens=2, temperature=0, eos_id=EOS)
    assert out.tokens == [[1, 2], [0, 1]]
    assert calls == [2, 2]


@pytest.mark.parametrize(("temperature", "top_k"), [(1.0, None), (0.6, 3), (2.5, None)])
def test_log_probs_are_the_untempered_model_scores_of_the_emitted_tokens(temperature, top_k):
    prompts = starts(*[0, 1, 2, 3] * 100)
    options = {"temperature": temperature, "top_k": top_k, "eos_id": EOS, "generator": seeded(3)}
    out = sample(bigram_step, None, prompts, max_tokens=12, **options)
    for prompt, ids, log_prob in zip(prompts.tolist(), out.tokens, out.log_probs, strict=True):
        assert EOS not in ids[:-1]
        assert len(ids) == 12 or ids[-1] == EOS
        assert log_prob.item() == pytest.approx(replayed_log_prob(prompt, ids), abs=1e-5)
    assert any(len(ids) < 12 for ids in out.tokens)
    assert any(len(ids) == 12 for ids in out.tokens)


def test_same_seed_same_samples_different_seed_different():
    def draw(seed):
        return sample(bigram_step, None, starts(0, 1, 2, 3), max_tokens=20, generator=seeded(seed))

    first, again, other = draw(7), draw(7), draw(8)
    assert first.tokens == again.tokens
    assert torch.equal(first.log_probs, again.log_probs)
    assert first.tokens != other.tokens


@pytest.mark.parametrize(
    "options",
    [
        {"max_tokens": 0},
        {"temperature": -0.1},
        {"temperature": math.nan},
        {"top_k": 0},
        {"top_p": 0.0},
        {"top_p": 1.5},
    ],
)
def test_invalid_options_are_rejected(options):
    with pytest.raises(ValueError, match=next(iter(options))):
        sample(bigram_step, None, starts(0), **{"max_tokens": 3, **options})


def test_filter_logits_rejects_invalid_options():
    with pytest.raises(ValueError, match="top_p"):
        filter_logits(torch.zeros(1, 3), top_k=None, top_p=0.0)
