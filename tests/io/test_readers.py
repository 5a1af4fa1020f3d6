"""The format readers: what each parses, and the one-line error (file:line) for each mistake."""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqcli.data import tagschemes
from seqcli.data.conll import TaggedSentence, read_conll
from seqcli.data.conllu import read_conllu
from seqcli.data.manifest import ManifestEntry, read_manifest
from seqcli.data.parallel import SentencePair, read_parallel
from seqcli.data.tagschemes import TAG_SCHEMES, convert, to_spans
from seqcli.data.tsv import LabelledText, read_labelled
from seqcli.errors import SeqcliError

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def needs_shared(relative: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not (SHARED_DATA / relative).exists(), reason=f"{relative} not in shared data")


# CoNLL -------------------------------------------------------------------------------------

CONLL2002 = """\
-DOCSTART- -DOCSTART- O
Sao NC B-LOC
Paulo\tVMI\tI-LOC

  \t
( Fpa O
Brasil NC B-LOC


-DOCSTART- -DOCSTART- O
El DA O
-DOCSTART- -DOCSTART- O
EFE NC B-ORG"""


def test_conll_reads_sentences_across_docstarts_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "esp.testa", CONLL2002)
    assert list(read_conll(path)) == [
        TaggedSentence(("Sao", "Paulo"), ("B-LOC", "I-LOC"), 2),
        TaggedSentence(("(", "Brasil"), ("O", "B-LOC"), 6),
        TaggedSentence(("El",), ("O",), 11),
        TaggedSentence(("EFE",), ("B-ORG",), 13),
    ]


def test_conll_column_picks_the_tag_column(tmp_path: Path) -> None:
    path = write(tmp_path / "esp.testa", CONLL2002)
    by_index = [s.tags for s in read_conll(path, column=1)]
    assert by_index == [s.tags for s in read_conll(path, column=-2)]
    assert by_index[0] == ("NC", "VMI")


def test_conll_keeps_a_no_break_space_inside_a_token(tmp_path: Path) -> None:
    path = write(tmp_path / "a.conll", "100\u00a0000 CD O\n")
    assert next(read_conll(path)).tokens == ("100\u00a0000",)


def test_conll_too_few_columns_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.conll", "Sao B-LOC\nPaulo\n")
    with pytest.raises(SeqcliError, match=r"bad\.conll:2: expected at least 2 columns, found 1$"):
        list(read_conll(path))
    with pytest.raises(SeqcliError, match=r"bad\.conll:1: expected at least 4 columns, found 2$"):
        list(read_conll(path, column=3))
    with pytest.raises(SeqcliError, match=r"bad\.conll:1: expected at least 3 columns, found 2$"):
        list(read_conll(path, column=-2))


def test_conll_column_zero_is_the_token_and_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(SeqcliError, match="--column 0 is the token column"):
        read_conll(tmp_path / "never-opened.conll", column=0)


# Tag schemes -------------------------------------------------------------------------------


def test_tagscheme_doctests_pass() -> None:
    result = doctest.testmod(tagschemes)
    assert result.attempted >= 5 and result.failed == 0


SAME_CHUNKS = {  # one chunk sequence, PER PER (adjacent) O LOC-LOC MISC, in each scheme
    "iob1": ["I-PER", "B-PER", "O", "I-LOC", "I-LOC", "I-MISC"],
    "iob2": ["B-PER", "B-PER", "O", "B-LOC", "I-LOC", "B-MISC"],
    "bioes": ["S-PER", "S-PER", "O", "B-LOC", "E-LOC", "S-MISC"],
}


@pytest.mark.parametrize("source", TAG_SCHEMES)
@pytest.mark.parametrize("target", TAG_SCHEMES)
def test_conversion_between_schemes_keeps_the_chunks(source: str, target: str) -> None:
    assert convert(SAME_CHUNKS[source], source, target) == SAME_CHUNKS[target]
    assert to_spans(SAME_CHUNKS[source], source) == [
        ("PER", 0, 1),
        ("PER", 1, 2),
        ("LOC", 3, 5),
        ("MISC", 5, 6),
    ]


@pytest.mark.parametrize(
    ("tags", "scheme", "spans"),
    [
        (["O", "I-PER", "I-PER"], "iob2", [("PER", 1, 3)]),  # I- after O starts a chunk
        (["B-PER", "I-LOC"], "iob2", [("PER", 0, 1), ("LOC", 1, 2)]),  # a type change starts one
        (["I-PER", "I-PER", "B-PER"], "iob1", [("PER", 0, 2), ("PER", 2, 3)]),
        (["E-PER", "E-PER"], "bioes", [("PER", 0, 1), ("PER", 1, 2)]),  # E after E: a new chunk
        (["S-PER", "I-PER", "O"], "bioes", [("PER", 0, 1), ("PER", 1, 2)]),  # I after S: a new one
        (["B-PER", "I-PER"], "bioes", [("PER", 0, 2)]),  # unclosed at the end: closed there
        (["B-MISC-X", "O"], "iob2", [("MISC-X", 0, 1)]),  # a type may contain a hyphen
    ],
)
def test_ill_formed_sequences_are_read_as_conlleval_reads_them(
    tags: list[str], scheme: str, spans: list[tuple[str, int, int]]
) -> None:
    assert to_spans(tags, scheme) == spans


RANDOM_TAGS = st.lists(st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]), max_size=12)


@settings(max_examples=60, deadline=None)
@given(tags=RANDOM_TAGS, middle=st.sampled_from(TAG_SCHEMES), last=st.sampled_from(TAG_SCHEMES))
def test_conversions_round_trip(tags: list[str], middle: str, last: str) -> None:
    canonical = convert(tags, "iob2", "iob2")
    through = convert(convert(convert(canonical, "iob2", middle), middle, last), last, "iob2")
    assert through == canonical
    assert to_spans(convert(canonical, "iob2", last), last) == to_spans(tags, "iob2")


def test_tags_outside_the_scheme_and_unknown_schemes_are_refused() -> None:
    with pytest.raises(
        SeqcliError, match=r"tag 'S-PER' at position 1 is not valid in iob2: expected O, B-TYPE"
    ):
        to_spans(["O", "S-PER"], "iob2")
    with pytest.raises(SeqcliError, match=r"tag 'PER' at position 0 is not valid in bioes"):
        to_spans(["PER"], "bioes")
    with pytest.raises(SeqcliError, match=r"unknown tag scheme 'bilou'; expected one of iob1, iob2, bioes"):
        convert(["O"], "iob2", "bilou")


# CoNLL-U -----------------------------------------------------------------------------------

CONLLU = """\
# newdoc id = d1
# sent_id = 1
# text = I don't know.
1\tI\tI\tPRON\tPRP\t_\t4\tnsubj\t_\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No
4.1\tknown\t_\t_\t_\t_\t_\t_\t4:ref\t_
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

# sent_id = 2
1\tNew York\tNew York\tPROPN\tNNP\t_\t0\troot\t_\t_
"""


def test_conllu_skips_comments_multiword_ranges_and_empty_nodes(tmp_path: Path) -> None:
    path = write(tmp_path / "en.conllu", CONLLU)
    assert list(read_conllu(path)) == [
        TaggedSentence(("I", "do", "n't", "know", "."), ("PRON", "AUX", "PART", "VERB", "PUNCT"), 1),
        TaggedSentence(("New York",), ("PROPN",), 12),
    ]
    assert [s.tags for s in read_conllu(path, field="xpos")] == [("PRP", "VBP", "RB", "VB", "."), ("NNP",)]


def test_conllu_wrong_field_count_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "en.conllu", CONLLU.replace("\t_\t4\taux", " _ 4 aux"))
    with pytest.raises(SeqcliError, match=r"en\.conllu:6: expected 10 tab-separated fields, found 7$"):
        list(read_conllu(path))


@pytest.mark.parametrize("bad_id", ["one", "1-", "2.", "-1", "1.1.1"])
def test_conllu_non_integer_id_names_file_and_line(tmp_path: Path, bad_id: str) -> None:
    path = write(tmp_path / "en.conllu", CONLLU.replace("\n5\t.", f"\n{bad_id}\t."))
    with pytest.raises(SeqcliError, match=rf"en\.conllu:10: ID '{bad_id}' is not an integer"):
        list(read_conllu(path))


def test_conllu_field_must_be_upos_or_xpos(tmp_path: Path) -> None:
    with pytest.raises(SeqcliError, match="must be one of upos, xpos, not 'lemma'"):
        read_conllu(tmp_path / "never-opened.conllu", field="lemma")


# Labelled TSV ------------------------------------------------------------------------------


def test_labelled_tsv_skips_blank_lines_and_strips(tmp_path: Path) -> None:
    path = write(tmp_path / "train.tsv", "pos\tgood film \n\n  \nneg\tbad\textra column\n")
    assert list(read_labelled(path)) == [LabelledText("pos", "good film", 1), LabelledText("neg", "bad", 4)]


def test_labelled_tsv_columns_and_header(tmp_path: Path) -> None:
    path = write(tmp_path / "sst.tsv", "sentence\tlabel\nhide new secretions\t0\n")
    assert list(read_labelled(path, label_column=1, text_column=0, header=True)) == [
        LabelledText("0", "hide new secretions", 2)
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pos\tok\nneg\n", r"t\.tsv:2: expected at least 2 tab-separated columns, found 1$"),
        ("pos\tok\nneg\t  \n", r"t\.tsv:2: empty text \(column 1\)$"),
        ("pos\tok\n\tno label\n", r"t\.tsv:2: empty label \(column 0\)$"),
    ],
)
def test_labelled_tsv_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SeqcliError, match=message):
        list(read_labelled(write(tmp_path / "t.tsv", text)))


def test_labelled_tsv_columns_must_differ_and_be_non_negative(tmp_path: Path) -> None:
    with pytest.raises(SeqcliError, match="are both 1; they must differ"):
        read_labelled(tmp_path / "t.tsv", label_column=1, text_column=1)
    with pytest.raises(SeqcliError, match="cannot be negative"):
        read_labelled(tmp_path / "t.tsv", label_column=-1)


# Parallel text -----------------------------------------------------------------------------


def test_parallel_files_pair_lines_and_skip_blank_pairs(tmp_path: Path) -> None:
    source = write(tmp_path / "val.de", "Ein Hund.\n\nZwei Katzen. \n")
    target = write(tmp_path / "val.en", "A dog.\n \nTwo cats.")
    assert list(read_parallel(source, target)) == [
        SentencePair("Ein Hund.", "A dog.", 1),
        SentencePair("Zwei Katzen.", "Two cats.", 3),
    ]


@pytest.mark.parametrize(("source_lines", "target_lines"), [(3, 5), (5, 3)])
def test_parallel_files_of_unequal_length_fail_when_the_shorter_ends(
    tmp_path: Path, source_lines: int, target_lines: int
) -> None:
    source = write(tmp_path / "s.de", "".join(f"satz {i}\n" for i in range(source_lines)))
    target = write(tmp_path / "t.en", "".join(f"sentence {i}\n" for i in range(target_lines)))
    pairs = read_parallel(source, target)
    assert [next(pairs).line for _ in range(3)] == [1, 2, 3]
    message = f"s.de has {source_lines} lines but .*t.en has {target_lines}; parallel files must align$"
    with pytest.raises(SeqcliError, match=message):
        next(pairs)


def test_parallel_one_empty_side_names_its_file_and_line(tmp_path: Path) -> None:
    source = write(tmp_path / "s.de", "eins\n\n")
    target = write(tmp_path / "t.en", "one\ntwo\n")
    with pytest.raises(SeqcliError, match=r"s\.de:2: empty source sentence, but its translation is not$"):
        list(read_parallel(source, target))


def test_parallel_tsv(tmp_path: Path) -> None:
    path = write(tmp_path / "dev.tsv", "I won!\tJe l'ai emporté !\n\n\t\nCheers!\tSanté !\n")
    assert list(read_parallel(path)) == [
        SentencePair("I won!", "Je l'ai emporté !", 1),
        SentencePair("Cheers!", "Santé !", 4),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\tb\na\tb\tc\n", r"d\.tsv:2: expected 2 tab-separated columns, found 3$"),
        ("a\tb\nno tab\n", r"d\.tsv:2: expected 2 tab-separated columns, found 1$"),
        ("a\tb\na\t \n", r"d\.tsv:2: empty target sentence, but its translation is not$"),
    ],
)
def test_parallel_tsv_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SeqcliError, match=message):
        list(read_parallel(write(tmp_path / "d.tsv", text)))


def test_parallel_files_cannot_both_be_standard_input() -> None:
    with pytest.raises(SeqcliError, match="only one of the two parallel files can be standard input"):
        read_parallel(Path("-"), Path("-"))


# Speech manifests --------------------------------------------------------------------------


@pytest.fixture
def speech(tmp_path: Path) -> Path:
    """A manifest directory with two clips in it and a secret beside it."""
    for name in ("corpus/clips/zero.wav", "corpus/one.flac", "secret.wav"):
        write(tmp_path / name, "RIFF")
    return tmp_path / "corpus"


def test_manifest_tsv_and_jsonl_paths_are_relative_to_the_manifest(
    speech: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = write(
        speech / "train.tsv",
        'clips/zero.wav\tzero \n\n{"audio": "clips/../one.flac", "text": "one", "duration": 0.4}\n',
    )
    monkeypatch.chdir(speech.parent.parent)  # a cwd that is not the manifest's directory
    assert list(read_manifest(manifest)) == [
        ManifestEntry(speech / "clips" / "zero.wav", "zero", 1),
        ManifestEntry(speech / "one.flac", "one", 3),
    ]


def test_manifest_keeps_absolute_paths(speech: Path) -> None:
    secret = speech.parent / "secret.wav"
    manifest = write(speech / "m.jsonl", f'{{"audio": "{secret}", "text": "hush"}}\n')
    assert list(read_manifest(manifest)) == [ManifestEntry(secret, "hush", 1)]


@pytest.mark.parametrize("escape", ["../secret.wav", "clips/../../secret.wav", "./../secret.wav"])
def test_manifest_refuses_relative_paths_out_of_its_directory(speech: Path, escape: str) -> None:
    manifest = write(speech / "m.tsv", f"clips/zero.wav\tzero\n{escape}\thush\n")
    message = (
        rf"m\.tsv:2: audio path {escape} points outside the manifest's directory; give it as an absolute"
    )
    with pytest.raises(SeqcliError, match=message):
        list(read_manifest(manifest))
    allowed = list(read_manifest(manifest, allow_outside=True))
    assert allowed[1].audio == speech.parent / "secret.wav"


def test_manifest_follows_symlinks_only_as_the_os_does(speech: Path) -> None:
    (speech / "link.wav").symlink_to(speech.parent / "secret.wav")
    manifest = write(speech / "m.tsv", "link.wav\thush\n")
    assert next(read_manifest(manifest)).audio == speech / "link.wav"


MANIFEST_ERRORS = {
    "missing-file": ("clips/two.wav\ttwo", r"m:1: audio file .*corpus/clips/two\.wav not found$"),
    "directory": ("clips\tdirectory", r"m:1: audio file .*corpus/clips not found$"),
    "three-columns": (
        "clips/zero.wav\tzero\t0.4",
        r"m:1: expected 2 tab-separated columns \(audio path, transcript\), found 3$",
    ),
    "empty-transcript": ("clips/zero.wav\t ", r"m:1: empty transcript$"),
    "empty-path": ("\tzero", r"m:1: empty audio path$"),
    "bad-json": (
        '{"audio": "clips/zero.wav", "text": "zero"',
        r"m:1: invalid JSON \(Expecting ',' delimiter at column 43\)$",
    ),
    "huge-integer": ('{"audio": 1' + "0" * 5000 + "}", r"m:1: invalid JSON \(ValueError: Exceeds the limit"),
    "deep-nesting": (
        '{"audio": ' + "[" * 100_000,
        r"m:1: invalid JSON \(RecursionError: maximum recursion depth",
    ),
    "no-audio-key": ('{"text": "zero"}', r'm:1: missing key "audio" \(an entry needs "audio" and "text"\)$'),
    "no-text-key": ('{"audio": "clips/zero.wav"}', r'm:1: missing key "text"'),
    "text-not-string": (
        '{"audio": "clips/zero.wav", "text": 0}',
        r'm:1: "text" must be a string, found int$',
    ),
    "audio-not-string": (
        '{"audio": ["clips/zero.wav"], "text": "zero"}',
        r'm:1: "audio" must be a string, found list$',
    ),
    "line-break-in-path": (
        '{"audio": "a\\nb.wav", "text": "z"}',
        r"m:1: audio path 'a\\nb.wav' contains a line break$",
    ),
    "lone-surrogate": (
        '{"audio": "clips/zero.wav", "text": "\\ud800"}',
        r'm:1: "text" holds a lone surrogate escape',
    ),
    "name-too-long": (
        "x" * 5000 + "\tlong",
        r"m:1: cannot check audio file .*x{100} \(File name too long\)$",
    ),
}


@pytest.mark.parametrize("case", sorted(MANIFEST_ERRORS))
def test_manifest_errors_name_file_and_line(speech: Path, case: str) -> None:
    line, message = MANIFEST_ERRORS[case]
    with pytest.raises(SeqcliError, match=message):
        list(read_manifest(write(speech / "m", line + "\n")))


# The real data sets (skipped where /work/shared/data is absent) ------------------------------


@needs_shared("conll2002/esp.testa")
def test_real_conll2002_spanish_development_set() -> None:
    sentences = list(read_conll(SHARED_DATA / "conll2002/esp.testa"))
    # Tjong Kim Sang (2002), table 1: 1,915 sentences and 52,923 tokens.
    assert len(sentences) == 1915 and sum(len(s.tokens) for s in sentences) == 52923
    assert {tag for s in sentences for tag in s.tags} <= {"O"} | {
        f"{p}-{t}" for p in "BI" for t in ("PER", "LOC", "ORG", "MISC")
    }
    assert all(
        to_spans(s.tags, "iob2") == to_spans(convert(s.tags, "iob2", "bioes"), "bioes") for s in sentences
    )


@needs_shared("ud-english-lines/en_lines-ud-dev.conllu")
def test_real_ud_english_lines_development_set() -> None:
    sentences = list(read_conllu(SHARED_DATA / "ud-english-lines/en_lines-ud-dev.conllu"))
    assert len(sentences) == 1118  # the data README
    assert sentences[0].tokens[:3] == ("When", "a", "user") and sentences[0].tags[:3] == (
        "SCONJ",
        "DET",
        "NOUN",
    )


@needs_shared("sentence-polarity/train.tsv")
def test_real_sentence_polarity() -> None:
    examples = list(read_labelled(SHARED_DATA / "sentence-polarity/train.tsv"))
    assert len(examples) == 9596  # the data README
    assert {e.label for e in examples} == {"neg", "pos"}


@needs_shared("multi30k/val.de")
def test_real_multi30k_validation_pairs() -> None:
    pairs = list(read_parallel(SHARED_DATA / "multi30k/val.de", SHARED_DATA / "multi30k/val.en"))
    assert len(pairs) == 1014  # the data README
    assert pairs[0].target == "A group of men are loading cotton onto a truck"


@needs_shared("tatoeba-eng-fra/dev.tsv")
def test_real_tatoeba_development_pairs() -> None:
    pairs = list(read_parallel(SHARED_DATA / "tatoeba-eng-fra/dev.tsv"))
    assert len(pairs) == 2000  # the data README
    assert pairs[0] == SentencePair("I won!", "Je l'ai emporté !", 1)


@needs_shared("fsdd/recordings")
def test_real_spoken_digits_through_a_manifest(tmp_path: Path) -> None:
    recordings = SHARED_DATA / "fsdd/recordings"
    names = sorted(os.listdir(recordings))
    manifest = write(tmp_path / "fsdd.tsv", "".join(f"{recordings / n}\t{n.split('_')[0]}\n" for n in names))
    entries = list(read_manifest(manifest))
    assert len(entries) == 2500  # the data README: 5 speakers x 500
    assert {e.text for e in entries} == {str(digit) for digit in range(10)}


def test_conll_ragged_rows_name_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "ragged.conll", "Sao NC B-LOC\nPaulo I-LOC\n")
    with pytest.raises(SeqcliError, match=r"ragged\.conll:2: 2 columns, but line 1 has 3 \(ragged rows\)$"):
        list(read_conll(path))


def test_conllu_sentence_with_no_words_names_its_line(tmp_path: Path) -> None:
    word = "1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_\n"
    path = write(tmp_path / "empty.conllu", f"# sent_id = 1\n{word}\n# sent_id = 2\n# text =\n\n")
    with pytest.raises(SeqcliError, match=r"empty\.conllu:4: a sentence with no words"):
        list(read_conllu(path))
