"""The tagger: padding never changes a sentence's result; it can overfit a tiny batch."""

from __future__ import annotations

import pytest
import torch

from seqcli.data.tagschemes import allowed_transitions, convert
from seqcli.models.tagger import Tagger, TaggerConfig

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def make_tagger(crf: bool, char_encoder: str = "lstm", cell: str = "lstm") -> Tagger:
    torch.manual_seed(0)
    config = TaggerConfig(
        vocab_size=30,
        num_tags=len(TAGS),
        embedding_dim=8,
        hidden_size=8,
        cell=cell,
        crf=crf,
        char_vocab_size=15,
        char_encoder=char_encoder,
        char_embedding_dim=4,
        char_hidden_size=4,
    )
    return Tagger(config, allowed_transitions(TAGS, "iob2")).eval()


def spelled(words: torch.Tensor):
    """Character ids for each distinct word id: word w is spelled ``w % 14 + 1`` repeated."""
    distinct, index = words.unique(return_inverse=True)
    lengths = distinct % 5 + 1
    chars = torch.zeros(len(distinct), 5, dtype=torch.long)
    for row, (word, length) in enumerate(zip(distinct.tolist(), lengths.tolist(), strict=True)):
        chars[row, :length] = word % 14 + 1
    return chars, lengths, index


@pytest.mark.parametrize(
    ("crf", "chars", "cell"), [(True, "lstm", "lstm"), (False, "cnn", "gru"), (True, "cnn", "lstm-textbook")]
)
def test_padding_never_changes_a_sentence_result(crf: bool, chars: str, cell: str) -> None:
    model = make_tagger(crf, chars, cell)
    sentence = torch.tensor([[3, 7, 9]])
    alone = model(sentence, torch.tensor([3]), *spelled(sentence))
    batch = torch.tensor([[3, 7, 9, 0, 0, 0], [4, 5, 6, 7, 8, 29]])
    together = model(batch, torch.tensor([3, 6]), *spelled(batch))
    torch.testing.assert_close(together[0, :3], alone[0], atol=1e-5, rtol=1e-5)
    assert (
        model.decode(together, torch.tensor([3, 6]))[0, :3].tolist()
        == model.decode(alone, torch.tensor([3]))[0].tolist()
    )


@pytest.mark.parametrize("crf", [True, False])
def test_overfits_a_tiny_batch(crf: bool) -> None:
    model = make_tagger(crf).train()
    words = torch.tensor([[3, 4, 5, 6], [7, 8, 9, 0]])
    lengths = torch.tensor([4, 3])
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-LOC", "I-LOC"]]
    tags = torch.tensor([[TAGS.index(t) for t in s] + [0] * (4 - len(s)) for s in gold])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(80):
        optimizer.zero_grad()
        loss = model.loss(model(words, lengths, *spelled(words)), tags, lengths)
        loss.backward()
        optimizer.step()
    model.eval()
    emissions = model(words, lengths, *spelled(words))
    decoded = model.decode(emissions, lengths)
    assert [
        [TAGS[i] for i in row[:n]] for row, n in zip(decoded.tolist(), lengths.tolist(), strict=True)
    ] == gold
    assert model.loss(emissions, tags, lengths).item() < 0.1


def test_softmax_decoding_is_well_formed_under_the_scheme() -> None:
    model = make_tagger(crf=False)
    words = torch.randint(1, 30, (32, 6), generator=torch.Generator().manual_seed(2))
    lengths = torch.full((32,), 6)
    emissions = torch.randn(32, 6, len(TAGS)) * 5
    emissions[:, :, 2] += 3  # I-PER everywhere, if nothing stopped it
    for row in model.decode(emissions, lengths).tolist():
        tags = [TAGS[i] for i in row]
        assert convert(tags, "iob2", "iob2") == tags
    assert model(words, lengths, *spelled(words)).shape == (32, 6, len(TAGS))


def test_frozen_embeddings_get_no_gradient() -> None:
    config = TaggerConfig(vocab_size=10, num_tags=2, embedding_dim=4, hidden_size=4, freeze_embeddings=True)
    model = Tagger(config)
    words, lengths = torch.tensor([[1, 2]]), torch.tensor([2])
    model.loss(model(words, lengths), torch.tensor([[0, 1]]), lengths).backward()
    assert model.embedding.weight.grad is None and model.output.weight.grad is not None


@pytest.mark.parametrize("locked", [True, False])
def test_locked_dropout_drops_the_same_units_at_every_word(locked: bool) -> None:
    config = TaggerConfig(
        vocab_size=30, num_tags=3, embedding_dim=16, hidden_size=8, dropout=0.5, locked_dropout=locked
    )
    torch.manual_seed(3)
    model = Tagger(config).train()
    seen = []
    model.rnn.register_forward_pre_hook(lambda _module, args: seen.append(args[0]))
    model(torch.randint(2, 30, (4, 9)), torch.full((4,), 9))
    dropped = seen[0] == 0  # (B, T, E): embeddings are never exactly 0 unless dropped
    shared = bool((dropped == dropped[:, :1]).all())
    assert shared == locked and dropped.float().mean().item() == pytest.approx(0.5, abs=0.1)
