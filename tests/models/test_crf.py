"""The linear-chain CRF: forward algorithm = brute-force sum, scheme constraints hold."""

from __future__ import annotations

import itertools
import math

import torch

from seqcli.data.tagschemes import allowed_transitions, convert
from seqcli.models.crf import LinearChainCRF

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def random_crf(allowed=None, seed: int = 0, size: int = len(TAGS)) -> LinearChainCRF:
    torch.manual_seed(seed)
    crf = LinearChainCRF(size, allowed)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.normal_()
    return crf


def test_forward_algorithm_equals_brute_force_sum_over_all_paths() -> None:
    crf = random_crf()
    emissions = torch.randn(2, 4, len(TAGS))
    lengths = torch.tensor([4, 2])
    log_z = crf.log_partition(emissions, lengths)
    for b, length in enumerate(lengths.tolist()):
        paths = torch.tensor(list(itertools.product(range(len(TAGS)), repeat=length)))
        padded = torch.nn.functional.pad(paths, (0, 4 - length))
        scores = crf.path_score(
            emissions[b].expand(len(paths), -1, -1), padded, torch.full((len(paths),), length)
        )
        assert math.isclose(log_z[b].item(), torch.logsumexp(scores, 0).item(), rel_tol=1e-5)


def test_likelihood_of_all_allowed_paths_sums_to_one() -> None:
    crf = random_crf(allowed_transitions(TAGS, "iob2"))
    emissions = torch.randn(1, 3, len(TAGS))
    paths = torch.tensor(list(itertools.product(range(len(TAGS)), repeat=3)))
    well_formed = [
        convert([TAGS[i] for i in p], "iob2", "iob2") == [TAGS[i] for i in p] for p in paths.tolist()
    ]
    nll = crf.neg_log_likelihood(emissions.expand(len(paths), -1, -1), paths, torch.full((len(paths),), 3))
    probability = (-nll).exp()
    assert math.isclose(probability[well_formed].sum().item(), 1.0, rel_tol=1e-4)
    assert probability[[not w for w in well_formed]].max().item() < 1e-30


def test_forbidden_transitions_never_appear_in_decoded_output() -> None:
    for scheme, tags in [("iob2", TAGS), ("bioes", ["O", "B-X", "I-X", "E-X", "S-X", "B-Y", "E-Y"])]:
        crf = random_crf(allowed_transitions(tags, scheme), seed=3, size=len(tags))
        generator = torch.Generator().manual_seed(4)
        # Emissions that would love I-/E- tags everywhere if nothing stopped them.
        emissions = torch.randn(64, 7, len(tags), generator=generator) * 5
        emissions[:, :, 2] += 4
        lengths = torch.randint(1, 8, (64,), generator=generator)
        paths, _ = crf.decode(emissions, lengths)
        for path, length in zip(paths.tolist(), lengths.tolist(), strict=True):
            decoded = [tags[i] for i in path[:length]]
            assert convert(decoded, scheme, scheme) == decoded


def test_loss_is_float32_under_half_precision_emissions() -> None:
    crf = random_crf()
    emissions = torch.randn(2, 3, len(TAGS)).to(torch.bfloat16)
    loss = crf.neg_log_likelihood(emissions, torch.zeros(2, 3, dtype=torch.long), torch.tensor([3, 2]))
    assert loss.dtype == torch.float32 and (loss > 0).all()
