"""The classifier: every pooling ignores padding; it can overfit a tiny batch."""

from __future__ import annotations

import pytest
import torch

from seqcli.models.classifier import POOLINGS, Classifier, ClassifierConfig


def make_classifier(pooling: str, cell: str = "lstm", bidirectional: bool = True) -> Classifier:
    torch.manual_seed(0)
    config = ClassifierConfig(
        vocab_size=20,
        num_classes=3,
        embedding_dim=8,
        hidden_size=6,
        num_layers=2,
        cell=cell,
        pooling=pooling,
        bidirectional=bidirectional,
    )
    return Classifier(config).eval()


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("cell", ["gru", "lstm-textbook"])
def test_padding_never_changes_a_sentence_result(pooling: str, cell: str) -> None:
    model = make_classifier(pooling, cell)
    alone = model(torch.tensor([[3, 4, 5]]), torch.tensor([3]))
    batch = torch.tensor([[3, 4, 5, 0, 0], [6, 7, 8, 9, 10]])
    together = model(batch, torch.tensor([3, 5]))
    torch.testing.assert_close(together[0], alone[0], atol=1e-5, rtol=1e-5)


def test_last_pooling_reads_both_directions_final_states() -> None:
    model = make_classifier("last", bidirectional=True)
    tokens, lengths = torch.tensor([[3, 4, 5, 0]]), torch.tensor([3])
    outputs, state = model.rnn(model.embedding(tokens), lengths=lengths)
    pooled = model.pool(outputs, state, lengths)
    half = model.config.hidden_size
    # forward half = output at the last real step; backward half = output at step 0
    torch.testing.assert_close(pooled[0, :half], outputs[0, 2, :half])
    torch.testing.assert_close(pooled[0, half:], outputs[0, 0, half:])


@pytest.mark.parametrize("pooling", POOLINGS)
def test_overfits_a_tiny_batch(pooling: str) -> None:
    model = make_classifier(pooling).train()
    tokens = torch.tensor([[3, 4, 5, 0], [6, 7, 0, 0], [8, 9, 10, 11], [3, 9, 0, 0]])
    lengths = torch.tensor([3, 2, 4, 2])
    labels = torch.tensor([0, 1, 2, 1])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(40):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(tokens, lengths), labels)
        loss.backward()
        optimizer.step()
    model.eval()
    assert model(tokens, lengths).argmax(1).tolist() == labels.tolist()
