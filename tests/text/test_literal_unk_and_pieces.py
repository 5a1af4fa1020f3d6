"""A literal <unk> is the unknown token for every tokenizer; printed pieces read back exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqcli.text import TOKENIZER_TYPES, UNK_ID
from seqcli.text.char import CharTokenizer

PTB_LINE = "the <unk> company said N shares <unk> rose"
PTB_LIKE = [
    "the company said it expects N shares to rise",
    "the <unk> <unk> said the company rose to N",
    "no it was n't black monday",
    "but while the new york stock exchange did n't fall apart friday",
]


@pytest.fixture(scope="module")
def ptb_tokenizers(tmp_path_factory: pytest.TempPathFactory, train) -> dict:
    corpus = tmp_path_factory.mktemp("ptb") / "ptb.txt"
    corpus.write_text("\n".join(PTB_LIKE * 20) + "\n")
    sizes = {"word": {}, "bpe": {"vocab_size": 40}, "unigram": {"vocab_size": 40}}
    return {kind: train(kind, [corpus], **options) for kind, options in sizes.items()}


@pytest.mark.parametrize("kind", ["word", "bpe", "unigram"])
def test_literal_unk_encodes_to_the_unknown_id_and_decodes_back(ptb_tokenizers, kind: str) -> None:
    tokenizer = ptb_tokenizers[kind]
    ids = tokenizer.encode(PTB_LINE)
    assert ids.count(UNK_ID) == 2
    assert tokenizer.decode(ids) == PTB_LINE
    assert tokenizer.encode_batch([PTB_LINE, "x"])[0] == ids


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_subword_training_learns_no_pieces_from_the_literal_unk(ptb_tokenizers, kind: str) -> None:
    tokenizer = ptb_tokenizers[kind]
    pieces = {tokenizer.id_to_piece(i) for i in range(tokenizer.vocab_size)}
    assert not any("<" in piece or ">" in piece for piece in pieces - {"<pad>", "<unk>", "<bos>", "<eos>"})


@pytest.mark.parametrize(
    "line", ["  leading and trailing  ", "\ttab\tand  two spaces", "123 45", "a ▁ literal mark", "<U+0041>"]
)
def test_char_pieces_read_back_exactly(line: str) -> None:
    tokenizer = CharTokenizer(["<pad>", "<unk>", "<bos>", "<eos>", *sorted(set("\t ▁<>+0123456789" + line))])
    printed = tokenizer.format_pieces(line)
    assert "  " not in printed and "\t" not in printed
    assert tokenizer.decode(tokenizer.parse_pieces(printed)) == line


def test_char_pieces_show_a_space_as_the_visible_mark(trained) -> None:
    assert trained["char"].format_pieces("to be") == "t o ▁ b e"


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_printed_pieces_of_normalised_text_round_trip(trained, kind: str) -> None:
    # docs/language-models.md: word, bpe and unigram keep words and single spaces between them.
    tokenizer = trained[kind]
    line = "  First Citizen:   Before we proceed any further, hear me speak. "
    expected = line if kind == "char" else " ".join(line.split())
    assert tokenizer.decode(tokenizer.parse_pieces(tokenizer.format_pieces(line))) == expected


def test_every_tokenizer_type_is_covered() -> None:
    assert set(TOKENIZER_TYPES) == {"char", "word", "bpe", "unigram"}, Path(__file__).name
