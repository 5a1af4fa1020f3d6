"""Viterbi finds the arg-max path of a linear chain, padded or not."""

from __future__ import annotations

import itertools

import torch

from seqcli.decode.viterbi import viterbi


def path_score(emissions, transitions, start, end, path) -> float:
    score = start[path[0]] + end[path[-1]] + sum(emissions[t, tag] for t, tag in enumerate(path))
    return float(score + sum(transitions[a, b] for a, b in itertools.pairwise(path)))


def test_viterbi_equals_brute_force_argmax_over_all_paths() -> None:
    generator = torch.Generator().manual_seed(0)
    tags, lengths = 3, torch.tensor([4, 1, 3])
    emissions = torch.randn(3, 4, tags, generator=generator)
    transitions = torch.randn(tags, tags, generator=generator)
    start, end = torch.randn(tags, generator=generator), torch.randn(tags, generator=generator)
    paths, scores = viterbi(emissions, transitions, start, end, lengths)
    for b, length in enumerate(lengths.tolist()):
        candidates = itertools.product(range(tags), repeat=length)
        best = max(candidates, key=lambda p: path_score(emissions[b], transitions, start, end, p))
        assert paths[b, :length].tolist() == list(best)
        assert paths[b, length:].eq(0).all()
        expected = path_score(emissions[b], transitions, start, end, best)
        assert abs(scores[b].item() - expected) < 1e-4


def test_padding_never_changes_a_sentence_path() -> None:
    generator = torch.Generator().manual_seed(1)
    emissions = torch.randn(1, 5, 4, generator=generator)
    transitions = torch.randn(4, 4, generator=generator)
    start, end = torch.zeros(4), torch.randn(4, generator=generator)
    alone, _ = viterbi(emissions, transitions, start, end, torch.tensor([5]))
    padded = torch.cat([emissions, torch.randn(1, 3, 4, generator=generator) * 100], dim=1)
    batch = torch.cat([padded, torch.randn(1, 8, 4, generator=generator)])
    together, _ = viterbi(batch, transitions, start, end, torch.tensor([5, 8]))
    assert together[0, :5].tolist() == alone[0].tolist()
