"""The tagger task's data side: columns, hold-out, batches that resume exactly, char spelling."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from seqcli.data.labels import LabelVocabulary
from seqcli.data.words import UNK_ID, WordVocabulary
from seqcli.errors import SeqcliError
from seqcli.tasks.tagger import TaggerTask, make_batch
from seqcli.tasks.tagger_data import EncodedSentences, TagColumn, from_learned, hold_out, to_learned

SENTENCES = [["the", "cat", "sat"], ["a", "dog"], ["the", "dog", "sat", "down"], ["cats"], ["a", "cat"]] * 4


def encoded() -> tuple[EncodedSentences, WordVocabulary, WordVocabulary]:
    counts = Counter(word for sentence in SENTENCES for word in sentence)
    words = WordVocabulary.from_counts(counts)
    chars = WordVocabulary.from_counts(Counter("".join(counts)))
    tags = [[len(word) % 3 for word in sentence] for sentence in SENTENCES]
    return EncodedSentences.build(SENTENCES, words, chars, tags), words, chars


def test_column_spec_picks_the_reader() -> None:
    assert TagColumn.parse(None, Path("a.conllu")) == TagColumn(field="upos")
    assert TagColumn.parse(None, Path("esp.train")) == TagColumn(index=-1)
    assert TagColumn.parse("XPOS", Path("a.conll")) == TagColumn(field="xpos")
    assert TagColumn.parse("2", Path("a.conll")) == TagColumn(index=2)
    with pytest.raises(SeqcliError, match="--column 'lemma'"):
        TagColumn.parse("lemma", Path("a.conllu"))


def test_hold_out_is_a_fixed_seeded_tenth() -> None:
    items = list(range(100))
    kept, held = hold_out(items, seed=3)
    assert len(held) == 10 and sorted(kept + held) == items
    assert hold_out(items, seed=3) == (kept, held) and hold_out(items, seed=4)[1] != held


def test_chunk_tags_are_learned_in_bioes_and_written_back_in_the_data_scheme() -> None:
    tags = ["B-PER", "I-PER", "O", "B-LOC"]
    assert to_learned(tags, "iob2") == ["B-PER", "E-PER", "O", "S-LOC"]
    assert from_learned(to_learned(tags, "iob2"), "iob2") == tags
    assert to_learned(["NOUN"], None) == ["NOUN"]


def test_a_batch_spells_each_distinct_form_once_and_points_at_it() -> None:
    data, _, chars = encoded()
    batch = make_batch(data, [0, 2])
    assert batch["chars"].shape[0] == 5  # the cat sat dog down
    for row, sentence in enumerate([SENTENCES[0], SENTENCES[2]]):
        for position, word in enumerate(sentence):
            spelling = batch["word_chars"][row, position]
            ids = batch["chars"][spelling, : batch["char_lengths"][spelling]].tolist()
            assert "".join(chars.items[i - 2] for i in ids) == word


def test_batches_resume_exactly_at_a_batch_index() -> None:
    data, words, _ = encoded()
    singletons = np.ones(len(words), dtype=bool)  # every word may be dropped to <unk>
    task = TaggerTask(
        data, None, [], LabelVocabulary(["0", "1", "2"]), None, singletons, batch_size=4, seed=7
    )
    full = list(task.train_batches(1, 0))
    resumed = list(task.train_batches(1, 2))
    assert len(resumed) == len(full) - 2
    for a, b in zip(full[2:], resumed, strict=True):
        assert all(torch.equal(a[key], b[key]) for key in a)
    dropped = torch.cat([(b["words"] == UNK_ID).flatten() for b in full])
    assert 0 < dropped.float().mean() < 1  # about half the singletons become <unk>


@pytest.mark.parametrize("word_dropout", [0.0, 0.3])
def test_word_dropout_replaces_any_word_with_unk_at_its_rate(word_dropout: float) -> None:
    data, words, _ = encoded()
    never_singleton = np.zeros(len(words), dtype=bool)
    task = TaggerTask(
        data,
        None,
        [],
        LabelVocabulary(["0", "1", "2"]),
        None,
        never_singleton,
        batch_size=4,
        seed=7,
        word_dropout=word_dropout,
    )
    batches = [batch for epoch in range(300) for batch in task.train_batches(epoch, 0)]
    real = torch.cat([(b["words"] != 0).flatten() for b in batches])
    unk = torch.cat([(b["words"] == UNK_ID).flatten() for b in batches])
    assert not (unk & ~real).any()  # padding stays padding
    rate = unk[real].float().mean().item()
    assert rate == pytest.approx(word_dropout, abs=0.03)


def test_case_fallback_reads_an_unseen_form_as_its_most_frequent_case_variant() -> None:
    counts = Counter({"the": 5, "The": 3, "THE": 1, "Paris": 2, "apple": 1})
    plain = WordVocabulary.from_counts(counts)
    folded = WordVocabulary.from_counts(counts, case_fallback=True)
    seen = ["the", "The", "THE", "Paris", "apple"]
    assert folded.encode(seen) == plain.encode(seen)  # forms in the vocabulary keep their own id
    assert folded.encode(["tHe", "PARIS", "Apple", "pear"]) == [
        folded.id("the"),
        folded.id("Paris"),
        folded.id("apple"),
        UNK_ID,
    ]
    assert plain.encode(["tHe", "PARIS", "Apple"]) == [UNK_ID] * 3
