"""sentencepiece tokenizers: vocabulary limits, sampling, the saved model."""

from __future__ import annotations

import re

import pytest

from seqcli.errors import SeqcliError
from seqcli.text import UNK_ID, load_tokenizer, train_tokenizer
from seqcli.text.spm import sample_sentences


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_vocab_size_too_large_for_the_corpus_says_the_limit(corpus, kind):
    with pytest.raises(SeqcliError) as caught:
        train_tokenizer(kind, [corpus], vocab_size=50_000)
    match = re.fullmatch(
        r"--vocab-size 50000 is larger than this corpus allows \(at most (\d+)\); lower it",
        str(caught.value),
    )
    assert match, str(caught.value)
    assert 4 < int(match.group(1)) < 50_000


def test_the_limit_it_says_can_be_trained(corpus):
    with pytest.raises(SeqcliError) as caught:
        train_tokenizer("unigram", [corpus], vocab_size=50_000)
    limit = int(re.search(r"at most (\d+)", str(caught.value)).group(1))
    assert train_tokenizer("unigram", [corpus], vocab_size=limit).vocab_size == limit


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_vocab_size_is_what_was_asked(trained, kind):
    assert trained[kind].vocab_size == 120


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_vocab_size_below_the_alphabet_is_an_error(corpus, kind):
    with pytest.raises(SeqcliError, match=r"^--vocab-size 10 is smaller than this corpus's alph"):
        train_tokenizer(kind, [corpus], vocab_size=10)


def test_huge_alphabet_falls_back_to_partial_coverage(tmp_path):
    # 300 common CJK characters plus 20 singletons: 324 pieces at full coverage, too many
    # for 310; sentencepiece's 0.9995 coverage leaves the singletons to <unk>.
    common = "".join(chr(0x4E00 + (i * 7) % 300) for i in range(60_000))
    rare = "".join(chr(0x5000 + i) for i in range(20))
    text = common + rare
    corpus = tmp_path / "cjk.txt"
    corpus.write_text("\n".join(text[i : i + 50] for i in range(0, len(text), 50)) + "\n")
    tokenizer = train_tokenizer("bpe", [corpus], vocab_size=310)
    assert tokenizer.vocab_size == 310
    assert UNK_ID in tokenizer.encode(rare[0])
    assert UNK_ID not in tokenizer.encode(common[:100])


def test_unseen_character_is_unk(trained):
    assert UNK_ID in trained["bpe"].encode("語")


def test_sample_keeps_every_non_blank_line_when_the_corpus_is_small(corpus, corpus_text):
    lines = [line for line in corpus_text.split("\n") if line.strip()]
    assert sample_sentences([corpus], max_sentences=len(lines), seed=0) == lines


def test_sample_is_a_seeded_subset_of_the_non_blank_lines(corpus, corpus_text):
    lines = [line for line in corpus_text.split("\n") if line.strip()]
    sample = sample_sentences([corpus], max_sentences=10, seed=0)
    assert len(sample) == 10
    assert set(sample) <= set(lines)
    assert sample == sample_sentences([corpus], max_sentences=10, seed=0)
    assert sample != sample_sentences([corpus], max_sentences=10, seed=1)


def test_sample_reaches_the_end_of_the_corpus(tmp_path):
    corpus = tmp_path / "numbers.txt"
    corpus.write_text("".join(f"{n}\n" for n in range(1000)), encoding="utf-8")
    sampled = {int(line) for seed in range(5) for line in sample_sentences([corpus], 100, seed)}
    # Every tenth of the corpus is drawn from, not just its first 100 lines.
    assert {n // 100 for n in sampled} == set(range(10))


def test_max_sentences_limits_the_training_sample(corpus, trained):
    sampled = train_tokenizer("bpe", [corpus], vocab_size=60, max_sentences=10)
    assert sampled.vocab_size == 60
    assert sampled.fingerprint() != train_tokenizer("bpe", [corpus], vocab_size=60).fingerprint()


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_seed_picks_the_sample_within_one_process(corpus, kind):
    def fingerprint(seed):
        return train_tokenizer(kind, [corpus], vocab_size=60, max_sentences=10, seed=seed).fingerprint()

    assert fingerprint(0) == fingerprint(0)
    assert fingerprint(0) != fingerprint(1)


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_saved_files_are_the_model_and_its_settings(trained, tmp_path, kind):
    trained[kind].save(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tokenizer.json", "tokenizer.model"]
    assert load_tokenizer(tmp_path).kind == kind
