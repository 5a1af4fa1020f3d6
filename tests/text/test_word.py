"""Word tokenizer: whitespace words, min_count / max_vocab, literal special tokens."""

from __future__ import annotations

import pytest

from seqcli.errors import SeqcliError
from seqcli.text import EOS_ID, SPECIAL_TOKENS, UNK_ID, train_tokenizer

CORPUS = "the cat sat\nthe dog sat\nthe <unk> ran\na  bird\n"


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(CORPUS, encoding="utf-8")
    return path


def vocabulary(tokenizer):
    return [tokenizer.id_to_piece(i) for i in range(len(SPECIAL_TOKENS), tokenizer.vocab_size)]


def test_vocabulary_is_descending_count_then_alphabetical(corpus):
    tokenizer = train_tokenizer("word", [corpus])
    assert vocabulary(tokenizer) == ["the", "sat", "a", "bird", "cat", "dog", "ran"]


def test_min_count_folds_rare_words_into_unk(corpus):
    tokenizer = train_tokenizer("word", [corpus], min_count=2)
    assert vocabulary(tokenizer) == ["the", "sat"]
    assert tokenizer.encode("the cat sat") == [4, UNK_ID, 5]


def test_max_vocab_keeps_the_most_frequent_words(corpus):
    tokenizer = train_tokenizer("word", [corpus], max_vocab=len(SPECIAL_TOKENS) + 3)
    assert tokenizer.vocab_size == 7
    assert vocabulary(tokenizer) == ["the", "sat", "a"]
    assert tokenizer.encode("a bird") == [6, UNK_ID]


def test_unseen_word_is_unk(corpus):
    tokenizer = train_tokenizer("word", [corpus])
    assert tokenizer.encode("the zebra") == [tokenizer.piece_to_id("the"), UNK_ID]


def test_literal_special_tokens_map_to_their_ids_and_are_not_counted(corpus):
    tokenizer = train_tokenizer("word", [corpus])
    assert "<unk>" not in vocabulary(tokenizer)
    assert tokenizer.encode("the <unk> ran <eos>") == [
        tokenizer.piece_to_id("the"),
        UNK_ID,
        tokenizer.piece_to_id("ran"),
        EOS_ID,
    ]


def test_decode_joins_words_with_single_spaces(corpus):
    tokenizer = train_tokenizer("word", [corpus])
    assert tokenizer.decode(tokenizer.encode("  a \t bird  cat ")) == "a bird cat"


def test_stream_of_penn_treebank_style_text(corpus):
    tokenizer = train_tokenizer("word", [corpus])
    stream = tokenizer.encode_stream(" the <unk> sat \n\n")
    assert stream.tolist() == [4, UNK_ID, 5, EOS_ID]


def test_min_count_above_every_count_is_an_error(corpus):
    with pytest.raises(SeqcliError, match=r"^no word occurs at least 10 times.*lower --min-count$"):
        train_tokenizer("word", [corpus], min_count=10)


def test_corpus_of_literal_special_tokens_only_is_empty(tmp_path):
    corpus = tmp_path / "specials.txt"
    corpus.write_text("<unk> <unk>\n<eos>\n", encoding="utf-8")
    with pytest.raises(SeqcliError, match=r": empty corpus"):
        train_tokenizer("word", [corpus])
