"""Character tokenizer: vocabulary order, unknown characters, the vectorised stream."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqcli.errors import SeqcliError
from seqcli.text import SPECIAL_TOKENS, UNK_ID, train_tokenizer
from seqcli.text.char import CharTokenizer

# Every script width UTF-32 must handle: ASCII, Latin-1, combining marks, CJK, astral emoji,
# and the whitespace a running-text model must keep.
ALPHABET = "ab c\n\tÉé\u0301語字😀🙂\u00a0"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> CharTokenizer:
    corpus = tmp_path_factory.mktemp("char") / "mixed.txt"
    corpus.write_text(ALPHABET * 3 + "\n", encoding="utf-8")
    return train_tokenizer("char", [corpus])


def write(tmp_path, text):
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_vocabulary_is_specials_then_descending_count_then_code_point(tmp_path):
    tokenizer = train_tokenizer("char", [write(tmp_path, "bbbaac\nca")])
    pieces = [tokenizer.id_to_piece(i) for i in range(tokenizer.vocab_size)]
    # counts: a 3, b 3, c 2, \n 1
    assert pieces == [*SPECIAL_TOKENS, "a", "b", "c", "\n"]


def test_unseen_character_is_unk(trained):
    tokenizer = trained["char"]
    ids = tokenizer.encode("a語z")
    assert ids[1] == UNK_ID
    assert UNK_ID not in (ids[0], ids[2])
    assert tokenizer.decode(ids) == "a<unk>z"


def test_character_above_every_known_code_point_is_unk(mixed):
    assert mixed.encode("\U0010ffff\U0001f680") == [UNK_ID, UNK_ID]


def test_literal_special_token_text_is_ordinary_characters(tmp_path):
    tokenizer = train_tokenizer("char", [write(tmp_path, "a <unk> b\n")])
    ids = tokenizer.encode("<unk>")
    assert ids == [tokenizer.piece_to_id(c) for c in "<unk>"]
    assert UNK_ID not in ids


def test_stream_equals_per_character_encode_with_newlines(trained, corpus_text):
    tokenizer = trained["char"]
    stream = tokenizer.encode_stream(corpus_text)
    assert stream.dtype == np.int64
    assert stream.shape == (len(corpus_text),)
    assert stream.tolist() == [tokenizer.piece_to_id(c) for c in corpus_text]
    assert stream.tolist().count(tokenizer.piece_to_id("\n")) == corpus_text.count("\n")


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_stream_of_any_text_has_one_id_per_character(mixed, text):
    stream = mixed.encode_stream(text)
    assert stream.dtype == np.int64
    assert stream.shape == (len(text),)
    assert stream.tolist() == [mixed.piece_to_id(c) for c in text]


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=ALPHABET))
def test_round_trip_of_text_over_the_training_alphabet(mixed, text):
    assert mixed.decode(mixed.encode(text)) == text


def test_lone_surrogate_is_unk_not_a_crash(mixed):
    assert mixed.encode_stream("a\ud800b").tolist() == [
        mixed.piece_to_id("a"),
        UNK_ID,
        mixed.piece_to_id("b"),
    ]


def test_min_count_drops_rare_characters(tmp_path):
    tokenizer = train_tokenizer("char", [write(tmp_path, "aaabbc")], min_count=2)
    assert tokenizer.vocab_size == len(SPECIAL_TOKENS) + 2
    assert tokenizer.encode("abc")[2] == UNK_ID


def test_max_vocab_counts_the_specials(tmp_path):
    tokenizer = train_tokenizer("char", [write(tmp_path, "aaabbc")], max_vocab=5)
    assert tokenizer.vocab_size == 5
    assert tokenizer.encode("abc") == [4, UNK_ID, UNK_ID]


def test_min_count_above_every_count_is_an_error(tmp_path):
    with pytest.raises(SeqcliError, match=r"^no char occurs at least 9 times"):
        train_tokenizer("char", [write(tmp_path, "aaabbc")], min_count=9)


def test_vocabulary_with_a_multi_character_piece_is_refused():
    with pytest.raises(ValueError, match="single character"):
        CharTokenizer([*SPECIAL_TOKENS, "ab"])
