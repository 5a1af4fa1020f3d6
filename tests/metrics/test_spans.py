"""Entity P/R/F1 with conlleval's counting: hand-worked cases, and seqeval when installed."""

from __future__ import annotations

import itertools
import random

import pytest

from seqcli.data.tagschemes import allowed_transitions, convert, detect_scheme
from seqcli.metrics.spans import span_scores


def test_hand_worked_iob2_case() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC"], ["B-ORG", "O", "B-MISC"]]
    # PER right; LOC cut short (wrong); ORG right; MISC missed; a spurious LOC.
    predicted = [["B-PER", "I-PER", "O", "B-LOC", "O"], ["B-ORG", "B-LOC", "O"]]
    scores = span_scores(gold, predicted, "iob2")
    assert (scores.correct, scores.predicted, scores.gold) == (2, 4, 4)
    assert scores.precision == scores.recall == scores.f1 == 0.5
    assert scores.accuracy == 5 / 8
    assert (scores.per_type["LOC"].correct, scores.per_type["LOC"].predicted) == (0, 2)
    assert scores.per_type["MISC"].recall == 0.0 and scores.per_type["PER"].f1 == 1.0


def test_ill_formed_predictions_are_read_as_conlleval_reads_them() -> None:
    # conlleval: I-PER after O starts a chunk, so the prediction finds PER(1, 3) exactly.
    scores = span_scores([["O", "B-PER", "I-PER"]], [["O", "I-PER", "I-PER"]], "iob2")
    assert scores.f1 == 1.0 and scores.accuracy == 2 / 3


def test_iob1_and_bioes_count_the_same_chunks_as_iob2() -> None:
    gold = ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]
    predicted = ["B-PER", "I-PER", "I-PER", "O", "B-LOC"]
    expected = span_scores([gold], [predicted], "iob2")
    for scheme in ("iob1", "bioes"):
        got = span_scores([convert(gold, "iob2", scheme)], [convert(predicted, "iob2", scheme)], scheme)
        assert (got.correct, got.predicted, got.gold) == (expected.correct, expected.predicted, expected.gold)
    assert (expected.correct, expected.predicted, expected.gold) == (1, 2, 3)


def test_nothing_predicted_and_nothing_gold_scores_zero_not_an_error() -> None:
    scores = span_scores([["O", "O"]], [["O", "O"]], "iob2")
    assert scores.f1 == 0.0 and scores.accuracy == 1.0


def test_length_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="sentence 0"):
        span_scores([["O"]], [["O", "O"]], "iob2")


@pytest.mark.filterwarnings("ignore")  # seqeval warns when a random case has no chunks
@pytest.mark.parametrize("scheme", ["iob1", "iob2"])
def test_agrees_with_seqeval_on_random_tag_sequences(scheme: str) -> None:
    seqeval = pytest.importorskip("seqeval.metrics")
    rng = random.Random(0)
    tags = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG"]
    for _ in range(30):
        lengths = [rng.randint(1, 12) for _ in range(rng.randint(1, 6))]
        gold = [[rng.choice(tags) for _ in range(n)] for n in lengths]
        predicted = [[rng.choice(tags) for _ in range(n)] for n in lengths]
        ours = span_scores(gold, predicted, scheme)
        assert ours.f1 == pytest.approx(seqeval.f1_score(gold, predicted), abs=1e-9)
        assert ours.precision == pytest.approx(seqeval.precision_score(gold, predicted), abs=1e-9)
        assert ours.recall == pytest.approx(seqeval.recall_score(gold, predicted), abs=1e-9)
        assert ours.accuracy == pytest.approx(seqeval.accuracy_score(gold, predicted), abs=1e-9)


@pytest.mark.parametrize(("scheme", "prefixes"), [("iob1", "BI"), ("iob2", "BI"), ("bioes", "BIES")])
def test_allowed_transitions_accept_exactly_the_well_formed_sequences(scheme: str, prefixes: str) -> None:
    tags = ["O"] + [f"{p}-{kind}" for kind in ("A", "B") for p in prefixes]
    start, follow, end = allowed_transitions(tags, scheme)
    index = {tag: i for i, tag in enumerate(tags)}
    for length in (1, 2, 3):
        for sequence in itertools.product(tags, repeat=length):
            ids = [index[tag] for tag in sequence]
            allowed = start[ids[0]] and end[ids[-1]] and all(follow[a][b] for a, b in itertools.pairwise(ids))
            assert allowed == (convert(sequence, scheme, scheme) == list(sequence)), sequence


def test_detect_scheme_tells_iob1_from_iob2_on_conll_shaped_data() -> None:
    iob2 = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]]
    iob1 = [convert(tags, "iob2", "iob1") for tags in iob2]
    assert detect_scheme(iob2) == "iob2" and detect_scheme(iob1) == "iob1"
    assert detect_scheme([["NOUN", "B-X"]]) is None
