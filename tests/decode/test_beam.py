"""Specification of seqcli.decode.beam: greedy and batched beam search."""

from __future__ import annotations

import functools
import math

import pytest
import torch

from seqcli.decode.beam import beam_search, greedy_search
from seqcli.models.seq2seq import Seq2Seq, Seq2SeqConfig

BOS, EOS = 2, 3
A, B, C = 4, 5, 6

# A bigram model as a (V, V) table of next-token probabilities; row = previous token.
# Greedy takes "a" (0.6) and then its most likely follower "<eos>" (0.4): P = 0.24.
# Beam search also keeps "b" (0.4), whose "<eos>" is almost certain: P = 0.4 * 0.9 = 0.36.
_ROWS = {
    BOS: {A: 0.6, B: 0.4},
    A: {EOS: 0.4, A: 0.3, B: 0.3},
    B: {EOS: 0.9, A: 0.05, C: 0.05},
    C: {C: 0.9, EOS: 0.1},
}
TABLE = torch.zeros(7, 7)  # log 0 = -inf: impossible continuations
TABLE[:, EOS] = 1.0  # rows the model never reaches (pad, unk) still need a distribution
for row, probs in _ROWS.items():
    TABLE[row] = 0.0
    for token, p in probs.items():
        TABLE[row, token] = p
TABLE = (TABLE / TABLE.sum(dim=1, keepdim=True)).log()


@pytest.fixture(autouse=True)
def one_thread():
    """Tensors this small run faster on one thread than handed between two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def bigram_step(tokens, state):
    return TABLE[tokens], state


def lengths(*values):
    return torch.tensor(values)


def test_beam_finds_the_sequence_greedy_search_misses():
    greedy = greedy_search(bigram_step, None, bos_id=BOS, eos_id=EOS, max_lengths=lengths(10))[0]
    assert greedy.tokens == [A]
    assert greedy.log_prob == pytest.approx(math.log(0.24), abs=1e-5)
    best = beam_search(bigram_step, None, beam_size=2, bos_id=BOS, eos_id=EOS, max_lengths=lengths(10))[0][0]
    assert best.tokens == [B]
    assert best.log_prob == pytest.approx(math.log(0.36), abs=1e-5)


def test_nbest_lists_are_ranked_and_distinct():
    results = beam_search(
        bigram_step, None, beam_size=3, nbest=3, bos_id=BOS, eos_id=EOS, max_lengths=lengths(10)
    )[0]
    assert [h.tokens for h in results] == [[B], [A], [A, B]]
    expected = [0.36, 0.24, 0.6 * 0.3 * 0.9]
    assert [h.log_prob for h in results] == pytest.approx([math.log(p) for p in expected], abs=1e-5)


def test_length_penalty_divides_by_output_length_to_the_alpha():
    results = beam_search(
        bigram_step,
        None,
        beam_size=3,
        nbest=3,
        bos_id=BOS,
        eos_id=EOS,
        max_lengths=lengths(10),
        length_penalty=1.0,
    )[0]
    for hypothesis in results:
        assert hypothesis.score == pytest.approx(hypothesis.log_prob / (len(hypothesis.tokens) + 1))
    assert [h.score for h in results] == sorted((h.score for h in results), reverse=True)


def test_length_penalty_lets_a_longer_output_win():
    # From "c" the model stays in "c" with 0.9: raw sums prefer stopping at once, the
    # per-token average (alpha = 1) prefers the long run of likely tokens. Each step finishes
    # one more "c…c <eos>", so a beam of 10 sees runs up to 9 before it stops.
    table = TABLE.clone()
    table[BOS] = torch.tensor([0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.5]).log()
    step = lambda tokens, state: (table[tokens], state)  # noqa: E731
    raw = beam_search(step, None, beam_size=10, bos_id=BOS, eos_id=EOS, max_lengths=lengths(12))[0][0]
    normalised = beam_search(
        step, None, beam_size=10, bos_id=BOS, eos_id=EOS, max_lengths=lengths(12), length_penalty=1.0
    )[0][0]
    assert raw.tokens == []
    assert len(normalised.tokens) > 3 and set(normalised.tokens) == {C}


def test_output_never_exceeds_its_maximum_length():
    table = TABLE.clone()
    table[C] = torch.tensor([0.0, 0.0, 0.0, 1e-6, 0.0, 0.0, 1.0]).log()  # "c" forever
    table[BOS] = table[C]
    step = lambda tokens, state: (table[tokens], state)  # noqa: E731
    limits = lengths(3, 6)
    greedy = greedy_search(step, None, bos_id=BOS, eos_id=EOS, max_lengths=limits)
    for hypothesis, limit in zip(greedy, (3, 6), strict=True):
        assert hypothesis.tokens == [C] * (limit - 1)  # eos forced at the last position
    beams = beam_search(step, None, beam_size=1, bos_id=BOS, eos_id=EOS, max_lengths=limits)
    assert [len(b[0].tokens) for b in beams] == [2, 5]
    beams = beam_search(step, None, beam_size=3, nbest=3, bos_id=BOS, eos_id=EOS, max_lengths=limits)
    for hypotheses, limit in zip(beams, (3, 6), strict=True):
        assert all(len(h.tokens) <= limit - 1 for h in hypotheses)


# --- the same searches over a real (random, untrained) translator ---------------------------


def random_translator(seed: int, attention: str = "bahdanau", cell: str = "gru") -> Seq2Seq:
    torch.manual_seed(seed)
    config = Seq2SeqConfig(
        source_vocab_size=13,
        target_vocab_size=11,
        embedding_dim=8,
        hidden_size=12,
        attention=attention,
        cell=cell,
        dropout=0.0,
    )
    model = Seq2Seq(config).eval()
    with torch.no_grad():  # larger weights than the ±0.1 init: peaked, varied distributions
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.8)
    return model


def random_sources(seed: int, batch: int, max_length: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    source_lengths = torch.randint(1, max_length + 1, (batch,), generator=generator)
    source = torch.randint(4, 13, (batch, max_length), generator=generator)
    source[torch.arange(max_length) >= source_lengths[:, None]] = 0
    return source, source_lengths


def search(model, source, source_lengths, *, beam=None, alpha=0.0, nbest=1, record=False):
    encoded, state = model.encode(source, source_lengths)
    limits = 2 * source_lengths + 3
    trace = (lambda s: s.weights) if record else None
    with torch.no_grad():
        if beam is None:
            step = functools.partial(model.step, encoded=encoded)
            return greedy_search(
                step, state, bos_id=BOS, eos_id=EOS, max_lengths=limits, length_penalty=alpha, record=trace
            )
        step = functools.partial(model.step, encoded=encoded.repeat(beam))
        return beam_search(
            step,
            state,
            beam_size=beam,
            bos_id=BOS,
            eos_id=EOS,
            max_lengths=limits,
            length_penalty=alpha,
            nbest=nbest,
            record=trace,
            batch_dim=0,
        )


def rescore(model, source, source_lengths, tokens) -> float:
    """log P(tokens, <eos> | source) by teacher forcing: the model's own objective."""
    inputs = torch.tensor([[BOS, *tokens]])
    with torch.no_grad():
        log_probs = model(source, source_lengths, inputs).log_softmax(dim=-1)[0]
    return float(log_probs.gather(1, torch.tensor([[*tokens, EOS]]).T).sum())


@pytest.mark.parametrize("alpha", [0.0, 0.7])
def test_beam_width_one_equals_greedy(alpha):
    model = random_translator(0)
    source, source_lengths = random_sources(1, batch=12)
    greedy = search(model, source, source_lengths, alpha=alpha)
    beam = search(model, source, source_lengths, beam=1, alpha=alpha)
    assert [h.tokens for h in greedy] == [b[0].tokens for b in beam]
    assert [h.score for h in greedy] == pytest.approx([b[0].score for b in beam], abs=1e-5)


def test_scores_are_the_models_summed_log_probabilities():
    model = random_translator(2, attention="luong-general", cell="lstm")
    source, source_lengths = random_sources(3, batch=6)
    results = search(model, source, source_lengths, beam=4, nbest=4, alpha=0.7)
    for i, hypotheses in enumerate(results):
        assert len(hypotheses) == 4
        for h in hypotheses:
            own = rescore(model, source[i : i + 1, : source_lengths[i]], source_lengths[i : i + 1], h.tokens)
            assert h.log_prob == pytest.approx(own, abs=1e-4)
            assert h.score == pytest.approx(own / (len(h.tokens) + 1) ** 0.7, abs=1e-4)
        assert [h.score for h in hypotheses] == sorted((h.score for h in hypotheses), reverse=True)


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_wider_beam_never_scores_worse_on_the_models_objective(seed):
    model = random_translator(seed, attention="luong-dot")
    source, source_lengths = random_sources(seed, batch=16)
    greedy = search(model, source, source_lengths)
    beam = search(model, source, source_lengths, beam=6)
    wider = [b[0].log_prob - g.log_prob for b, g in zip(beam, greedy, strict=True)]
    assert min(wider) >= -1e-5
    assert max(wider) > 0.01  # the model is peaked enough that search matters


@pytest.mark.parametrize("beam", [None, 3])
def test_padding_never_changes_a_sentences_result(beam):
    model = random_translator(7)
    source, source_lengths = random_sources(8, batch=5)
    batched = search(model, source, source_lengths, beam=beam, record=True)
    for i in range(5):
        n = int(source_lengths[i])
        alone = search(model, source[i : i + 1, :n], source_lengths[i : i + 1], beam=beam, record=True)[0]
        together = batched[i]
        if beam is not None:
            alone, together = alone[0], together[0]
        assert together.tokens == alone.tokens
        assert together.log_prob == pytest.approx(alone.log_prob, abs=1e-5)
        assert torch.allclose(together.trace[:, :n], alone.trace, atol=1e-5)
        assert float(together.trace[:, n:].abs().sum()) == 0.0  # no weight on padding
        assert torch.allclose(together.trace.sum(dim=1), torch.ones(len(together.tokens) + 1))


@pytest.mark.parametrize("nbest", [1, 3])
def test_finished_sentences_leave_the_batch_without_changing_any_result(nbest):
    model = random_translator(9, attention="luong-general", cell="lstm")
    source, source_lengths = random_sources(10, batch=24)
    encoded, state = model.encode(source, source_lengths)
    rows_seen = []

    def step(tokens, state, context):
        rows_seen.append(tokens.numel())
        return model.step(tokens, state, context)

    with torch.no_grad():
        shrinking = beam_search(
            step,
            state,
            beam_size=3,
            bos_id=BOS,
            eos_id=EOS,
            max_lengths=2 * source_lengths + 3,
            length_penalty=0.7,
            nbest=nbest,
            record=lambda s: s.weights,
            batch_dim=0,
            context=encoded.repeat(3),
        )
    fixed = search(model, source, source_lengths, beam=3, alpha=0.7, nbest=nbest, record=True)
    assert rows_seen[:2] == [24, 24 * 3]  # the first step once per sentence: its beams are the same
    assert min(rows_seen[1:]) < 24 * 3 and len(set(rows_seen[1:])) > 2
    for together, alone in zip(shrinking, fixed, strict=True):
        assert [h.tokens for h in together] == [h.tokens for h in alone]
        assert [h.log_prob for h in together] == pytest.approx([h.log_prob for h in alone], abs=1e-5)
        for a, b in zip(together, alone, strict=True):
            assert torch.allclose(a.trace, b.trace, atol=1e-5)
