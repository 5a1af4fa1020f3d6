"""The interface every tokenizer shares: specials, round trips, streams, save/load, errors."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest

from seqcli.errors import SeqcliError
from seqcli.text import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    TOKENIZER_TYPES,
    UNK_ID,
    load_tokenizer,
    train_tokenizer,
)

LINE_BASED = ("word", "bpe", "unigram")


def non_blank_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_special_tokens_sit_at_ids_zero_to_three(trained, kind):
    tokenizer = trained[kind]
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    assert [tokenizer.id_to_piece(i) for i in range(4)] == list(SPECIAL_TOKENS)
    assert [tokenizer.piece_to_id(piece) for piece in SPECIAL_TOKENS] == [0, 1, 2, 3]
    assert tokenizer.kind == kind


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_unknown_piece_maps_to_unk(trained, kind):
    assert trained[kind].piece_to_id("no-such-piece-in-any-vocabulary") == UNK_ID


def test_char_round_trips_the_whole_training_text(trained, corpus_text):
    tokenizer = trained["char"]
    assert UNK_ID not in tokenizer.encode(corpus_text)
    assert tokenizer.decode(tokenizer.encode(corpus_text)) == corpus_text


def test_word_round_trips_whitespace_normalised_lines(trained, corpus_text):
    tokenizer = trained["word"]
    for line in non_blank_lines(corpus_text):
        assert tokenizer.decode(tokenizer.encode(line)) == " ".join(line.split())


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_subword_round_trips_training_lines(trained, corpus_text, kind):
    tokenizer = trained[kind]
    for line in non_blank_lines(corpus_text):
        assert tokenizer.decode(tokenizer.encode(line)) == line


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_decode_skips_pad_bos_eos_and_shows_unk(trained, kind):
    tokenizer = trained[kind]
    ids = tokenizer.encode("Speak, speak.")
    assert tokenizer.decode([BOS_ID, *ids, EOS_ID, PAD_ID, PAD_ID]) == tokenizer.decode(ids)
    assert tokenizer.decode([UNK_ID]) == "<unk>"


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_pieces_are_the_pieces_of_the_ids(trained, kind):
    tokenizer = trained[kind]
    text = "First Citizen: we know't."
    ids = tokenizer.encode(text)
    assert [tokenizer.piece_to_id(piece) for piece in tokenizer.pieces(text)] == ids
    assert tokenizer.pieces(text) == [tokenizer.id_to_piece(i) for i in ids]


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_encode_batch_equals_encode_of_each(trained, corpus_text, kind):
    tokenizer = trained[kind]
    lines = non_blank_lines(corpus_text)
    assert tokenizer.encode_batch(lines) == [tokenizer.encode(line) for line in lines]


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_id_outside_the_vocabulary_is_an_index_error(trained, kind):
    tokenizer = trained[kind]
    for token_id in (tokenizer.vocab_size, -1):
        with pytest.raises(IndexError):
            tokenizer.id_to_piece(token_id)


@pytest.mark.parametrize("kind", LINE_BASED)
def test_line_based_stream_ends_each_non_blank_line_with_eos(trained, kind):
    tokenizer = trained[kind]
    assert tokenizer.line_based
    chunk = "All:\nSpeak, speak.\n\n   \t\nFirst Citizen:\n"
    expected = [
        *tokenizer.encode("All:"),
        EOS_ID,
        *tokenizer.encode("Speak, speak."),
        EOS_ID,
        *tokenizer.encode("First Citizen:"),
        EOS_ID,
    ]
    stream = tokenizer.encode_stream(chunk)
    assert stream.dtype == np.int64
    assert stream.ndim == 1
    assert stream.tolist() == expected


@pytest.mark.parametrize("kind", LINE_BASED)
def test_line_based_stream_of_blank_text_is_empty(trained, kind):
    stream = trained[kind].encode_stream("\n  \n\n")
    assert stream.dtype == np.int64
    assert stream.shape == (0,)


def test_only_char_is_running_text(trained):
    assert [kind for kind in TOKENIZER_TYPES if not trained[kind].line_based] == ["char"]


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_save_then_load_gives_the_same_tokenizer(trained, corpus_text, tmp_path, kind):
    tokenizer = trained[kind]
    tokenizer.save(tmp_path / "tok")
    loaded = load_tokenizer(tmp_path / "tok")
    assert type(loaded) is type(tokenizer)
    assert loaded.kind == kind
    assert loaded.line_based == tokenizer.line_based
    assert loaded.vocab_size == tokenizer.vocab_size
    assert loaded.fingerprint() == tokenizer.fingerprint()
    assert loaded.encode_stream(corpus_text).tolist() == tokenizer.encode_stream(corpus_text).tolist()
    assert loaded.encode("zzz Qq ?!") == tokenizer.encode("zzz Qq ?!")


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_fingerprint_is_the_hash_of_the_saved_files(trained, tmp_path, kind):
    tokenizer = trained[kind]
    tokenizer.save(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{64}", tokenizer.fingerprint())
    assert set(tokenizer.serialize()) == {path.name for path in tmp_path.iterdir()}
    for name, data in tokenizer.serialize().items():
        assert (tmp_path / name).read_bytes() == data


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_training_is_deterministic(trained, train, corpus, kind):
    assert train(kind, [corpus]).fingerprint() == trained[kind].fingerprint()


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_fingerprint_differs_between_vocabularies(trained, train, tmp_path, corpus_text, kind):
    other = tmp_path / "other.txt"
    other.write_text(corpus_text.replace("Citizen", "Burgher"), encoding="utf-8")
    assert train(kind, [other]).fingerprint() != trained[kind].fingerprint()


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_training_reads_several_files(train, corpus, tmp_path, kind):
    extra = tmp_path / "extra.txt"
    extra.write_text("Zounds quoth Xerxes\n", encoding="utf-8")
    tokenizer = train(kind, [corpus, extra])
    assert UNK_ID not in tokenizer.encode("Zounds Xerxes")


# --- training errors -------------------------------------------------------------------


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_empty_file_is_an_empty_corpus(train, tmp_path, kind):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(SeqcliError, match=rf"^{re.escape(str(empty))}: empty corpus"):
        train(kind, [empty])


@pytest.mark.parametrize("kind", LINE_BASED)
def test_blank_lines_alone_are_an_empty_corpus(train, tmp_path, kind):
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n\t\n", encoding="utf-8")
    with pytest.raises(SeqcliError, match=rf"^{re.escape(str(blank))}: empty corpus"):
        train(kind, [blank])


def test_empty_corpus_error_names_every_file(train, tmp_path):
    files = [tmp_path / "a.txt", tmp_path / "b.txt"]
    for path in files:
        path.write_text("", encoding="utf-8")
    with pytest.raises(SeqcliError, match=rf"^{re.escape(f'{files[0]}, {files[1]}')}: empty"):
        train("word", files)


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_bad_utf8_is_reported_with_file_and_line(train, tmp_path, kind):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"good words here\nand more words\nbad \xff byte\n")
    with pytest.raises(SeqcliError, match=rf"^{re.escape(str(bad))}:3: not valid UTF-8"):
        train(kind, [bad])


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_encoding_errors_replace_reads_bad_utf8(train, corpus, tmp_path, kind):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(corpus.read_bytes() + b"bad \xff byte\n")
    assert train(kind, [bad], encoding_errors="replace").vocab_size > len(SPECIAL_TOKENS)


def test_unknown_type_is_refused_by_training(corpus):
    with pytest.raises(SeqcliError, match=r"^unknown tokenizer type 'bytes'; choose one of char"):
        train_tokenizer("bytes", [corpus])


def test_missing_training_file_is_named(tmp_path):
    missing = tmp_path / "missing.txt"
    with pytest.raises(SeqcliError, match=rf"^{re.escape(str(missing))}: no such file"):
        train_tokenizer("word", [missing])


@pytest.mark.parametrize("kind", ["char", "word"])
def test_vocab_size_is_refused_for_counted_vocabularies(corpus, kind):
    with pytest.raises(SeqcliError, match=r"^--vocab-size applies to bpe and unigram"):
        train_tokenizer(kind, [corpus], vocab_size=100)


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_min_count_and_max_vocab_are_refused_for_sentencepiece(corpus, kind):
    for options in ({"min_count": 2}, {"max_vocab": 50}):
        with pytest.raises(SeqcliError, match=r"^--min-count and --max-vocab apply to char"):
            train_tokenizer(kind, [corpus], vocab_size=100, **options)


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("word", {"min_count": 0}, "--min-count must be at least 1, got 0"),
        ("char", {"max_vocab": 4}, "--max-vocab must be at least 5, got 4"),
        ("bpe", {"vocab_size": 3}, "--vocab-size must be at least 5, got 3"),
        ("unigram", {"max_sentences": 0}, "--max-sentences must be at least 1, got 0"),
    ],
)
def test_out_of_range_options_are_refused(corpus, kind, options, message):
    with pytest.raises(SeqcliError, match=rf"^{re.escape(message)}$"):
        train_tokenizer(kind, [corpus], **options)


# --- loading errors --------------------------------------------------------------------


def test_load_from_directory_without_tokenizer_json(tmp_path):
    with pytest.raises(SeqcliError) as caught:
        load_tokenizer(tmp_path)
    assert str(caught.value) == f"{tmp_path}: no tokenizer (tokenizer.json missing)"


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_load_truncated_tokenizer_json_names_the_file(trained, tmp_path, kind):
    trained[kind].save(tmp_path)
    config = tmp_path / "tokenizer.json"
    config.write_bytes(config.read_bytes()[:40])
    with pytest.raises(SeqcliError, match=rf"^{re.escape(str(config))}: not valid JSON"):
        load_tokenizer(tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe{", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"type": "word", "format_version": 1}', "'vocab' is missing or not a list"),
        (
            b'{"type": "word", "format_version": 1, "min_count": 1, "vocab": ["a"]}',
            "bad vocabulary",
        ),
        (b'{"type": "word", "format_version": 99, "vocab": []}', "tokenizer format 99"),
        (b'{"type": "bpe", "format_version": 1}', "'model_sha256' is missing or not a str"),
    ],
)
def test_load_invalid_tokenizer_json_names_the_file(tmp_path, content, message):
    config = tmp_path / "tokenizer.json"
    config.write_bytes(content)
    with pytest.raises(SeqcliError, match=rf"^{re.escape(str(config))}: {re.escape(message)}"):
        load_tokenizer(tmp_path)


def test_load_unknown_type_is_refused(tmp_path):
    config = tmp_path / "tokenizer.json"
    config.write_text(json.dumps({"type": "bytes", "format_version": 1}), encoding="utf-8")
    with pytest.raises(SeqcliError, match=rf"^{re.escape(str(config))}: unknown tokenizer type"):
        load_tokenizer(tmp_path)


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
@pytest.mark.parametrize("keep", [0, 100, 0.5])
def test_load_truncated_tokenizer_model_names_the_file(trained, tmp_path, kind, keep):
    trained[kind].save(tmp_path)
    model = tmp_path / "tokenizer.model"
    data = model.read_bytes()
    model.write_bytes(data[: int(keep * len(data)) if isinstance(keep, float) else keep])
    with pytest.raises(SeqcliError, match=rf"^{re.escape(str(model))}: damaged"):
        load_tokenizer(tmp_path)


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_load_missing_tokenizer_model_names_the_file(trained, tmp_path, kind):
    trained[kind].save(tmp_path)
    model = tmp_path / "tokenizer.model"
    model.unlink()
    with pytest.raises(SeqcliError, match=rf"^{re.escape(str(model))}: cannot read"):
        load_tokenizer(tmp_path)


def test_load_model_that_is_not_sentencepiece_names_the_file(trained, tmp_path):
    trained["bpe"].save(tmp_path)
    model = tmp_path / "tokenizer.model"
    model.write_bytes(b"not a protobuf at all")
    config = tmp_path / "tokenizer.json"
    settings = json.loads(config.read_text(encoding="utf-8"))
    # A matching checksum gets the garbage past the damage check to the parser.
    settings["model_sha256"] = hashlib.sha256(model.read_bytes()).hexdigest()
    config.write_text(json.dumps(settings), encoding="utf-8")
    with pytest.raises(SeqcliError, match=rf"^{re.escape(str(model))}: not a usable sentencepiece"):
        load_tokenizer(tmp_path)


def test_saving_over_an_older_tokenizer_replaces_it(trained, tmp_path, corpus_text):
    trained["bpe"].save(tmp_path)
    trained["word"].save(tmp_path)
    loaded = load_tokenizer(tmp_path)
    assert loaded.kind == "word"
    assert loaded.encode(corpus_text) == trained["word"].encode(corpus_text)
