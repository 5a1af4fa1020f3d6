"""Subword tokenizers (bpe, unigram) trained and run by sentencepiece.

BPE: Sennrich et al. 2016, "Neural Machine Translation of Rare Words with Subword Units".
Unigram: Kudo 2018, "Subword Regularization". Both through Kudo & Richardson 2018,
"SentencePiece", whose model proto is saved as ``tokenizer.model`` unchanged.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import sentencepiece as spm

from seqcli.data.corpus import iter_lines
from seqcli.errors import SeqcliError
from seqcli.text.tokenizer import (
    BOS_ID,
    CONFIG_FILE,
    EOS_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    UNK_ID,
    Tokenizer,
    config_value,
    empty_corpus_error,
)

__all__ = ["MODEL_FILE", "SentencePieceTokenizer", "sample_sentences"]

MODEL_FILE = "tokenizer.model"
# 1.0 keeps every character, so training text round-trips exactly. A CJK-size alphabet can
# outgrow the vocabulary; 0.9995 is sentencepiece's advice for such scripts (the rarest
# characters become <unk>).
_COVERAGES = (1.0, 0.9995)
_TOO_LARGE = re.compile(r"Vocabulary size .*?<= *(\d+)")
_TOO_SMALL = re.compile(r"smaller than required_chars\. *\d+ vs (\d+)")
_UNK_TEXT = SPECIAL_TOKENS[UNK_ID]
# Private-use code points: one the model does not know stands in for a literal <unk> while
# sentencepiece segments, so it becomes the unknown piece with its word boundary intact.
_STAND_IN_CANDIDATES = range(0xE000, 0xE100)


class SentencePieceTokenizer(Tokenizer):
    """A sentencepiece model whose first four pieces are the seqcli specials."""

    line_based = True

    def __init__(self, kind: str, model_proto: bytes) -> None:
        self.kind = kind
        self._model_proto = model_proto
        self._processor = spm.SentencePieceProcessor(model_proto=model_proto)
        specials = tuple(self._processor.id_to_piece(i) for i in range(len(SPECIAL_TOKENS)))
        if specials != SPECIAL_TOKENS:
            raise ValueError(f"the model's first pieces are {specials}, not {SPECIAL_TOKENS}")
        self._unk_stand_in = _unknown_character(self._processor)

    @classmethod
    def train(
        cls,
        kind: str,
        files: Sequence[Path],
        *,
        vocab_size: int,
        encoding_errors: str = "strict",
        max_sentences: int = 2_000_000,
        seed: int = 0,
    ) -> SentencePieceTokenizer:
        sentences = sample_sentences(files, max_sentences, seed, encoding_errors)
        if not sentences:
            raise empty_corpus_error(files)
        for coverage in _COVERAGES:
            try:
                return cls(kind, _train_model_proto(kind, sentences, vocab_size, coverage))
            except _AlphabetTooLarge as err:
                needed = err.needed
        raise SeqcliError(
            f"--vocab-size {vocab_size} is smaller than this corpus's alphabet needs"
            f" (at least {needed}); raise it"
        )

    @classmethod
    def from_saved(cls, config: dict[str, Any], directory: Path) -> SentencePieceTokenizer:
        path = directory / MODEL_FILE
        expected = config_value(config, "model_sha256", str, directory)
        try:
            proto = path.read_bytes()
        except OSError as err:
            raise SeqcliError(f"{path}: cannot read ({err.strerror})") from err
        # Checked here because protobuf parses a file cut at a field boundary, or an empty
        # one, without complaint: the damage would surface later as wrong token ids.
        if hashlib.sha256(proto).hexdigest() != expected:
            raise SeqcliError(f"{path}: damaged (its sha256 differs from the one in {CONFIG_FILE})")
        try:
            return cls(config["type"], proto)
        except (RuntimeError, ValueError, IndexError) as err:
            raise SeqcliError(f"{path}: not a usable sentencepiece model ({err})") from None

    @property
    def vocab_size(self) -> int:
        return self._processor.get_piece_size()

    def id_to_piece(self, token_id: int) -> str:
        return self._processor.id_to_piece(token_id)

    def piece_to_id(self, piece: str) -> int:
        return self._processor.piece_to_id(piece)

    def encode(self, text: str) -> list[int]:
        return self._processor.encode(self._mark_unknown(text))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return self._processor.encode([self._mark_unknown(text) for text in texts])

    def _mark_unknown(self, text: str) -> str:
        """A literal ``<unk>`` (as Penn Treebank writes rare words) is the unknown token."""
        return text.replace(_UNK_TEXT, self._unk_stand_in) if _UNK_TEXT in text else text

    def decode(self, ids: Iterable[int]) -> str:
        # sentencepiece drops control pieces (pad, bos, eos) itself; unk_surface, set at
        # training, makes <unk> read as <unk>.
        return self._processor.decode([int(i) for i in ids])

    def serialize(self) -> dict[str, bytes]:
        settings = {
            "model": MODEL_FILE,
            "model_sha256": hashlib.sha256(self._model_proto).hexdigest(),
            "vocab_size": self.vocab_size,
        }
        return {MODEL_FILE: self._model_proto, CONFIG_FILE: self.config_bytes(settings)}


class _AlphabetTooLarge(Exception):
    def __init__(self, needed: int) -> None:
        super().__init__(needed)
        self.needed = needed


def sample_sentences(
    files: Sequence[Path], max_sentences: int, seed: int, encoding_errors: str = "strict"
) -> list[str]:
    """A uniform sample of at most ``max_sentences`` non-blank lines of ``files``.

    Reservoir sampling (Vitter 1985, algorithm R) in one streaming pass. Done here rather
    than by sentencepiece's input_sentence_size because sentencepiece 0.2 seeds its sampler
    process-wide, once: a second training in the same process ignores a new seed.
    """
    rng = random.Random(seed)
    sample: list[str] = []
    seen = 0
    for path in files:
        for line in iter_lines(path, encoding_errors=encoding_errors):
            if not line.strip():
                continue
            seen += 1
            if len(sample) < max_sentences:
                sample.append(line)
            elif (slot := rng.randrange(seen)) < max_sentences:
                sample[slot] = line
    return sample


def _unknown_character(processor: spm.SentencePieceProcessor) -> str:
    """A character ``processor`` encodes as ``<unk>``: private use, so almost never in text."""
    for code in _STAND_IN_CANDIDATES:
        if UNK_ID in processor.encode(chr(code)):
            return chr(code)
    raise ValueError("the model knows every private-use character; it cannot mark <unk>")


def _train_model_proto(kind: str, sentences: list[str], vocab_size: int, coverage: float) -> bytes:
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            # A literal <unk> is encoded as the unknown token, so its letters are no text to
            # learn pieces from.
            sentence_iterator=(sentence.replace(_UNK_TEXT, " ") for sentence in sentences),
            model_writer=model,
            model_type=kind,
            vocab_size=vocab_size,
            character_coverage=coverage,
            # The sentences are already a sample; sentencepiece takes them all, in order.
            input_sentence_size=0,
            shuffle_input_sentence=False,
            pad_id=PAD_ID,
            unk_id=UNK_ID,
            bos_id=BOS_ID,
            eos_id=EOS_ID,
            pad_piece=SPECIAL_TOKENS[PAD_ID],
            unk_piece=SPECIAL_TOKENS[UNK_ID],
            bos_piece=SPECIAL_TOKENS[BOS_ID],
            eos_piece=SPECIAL_TOKENS[EOS_ID],
            unk_surface=SPECIAL_TOKENS[UNK_ID],
            num_threads=os.cpu_count() or 1,
            minloglevel=2,  # errors only: training progress would flood standard error
        )
    except RuntimeError as err:
        _raise_known_failure(err, vocab_size)
        raise
    return model.getvalue()


def _raise_known_failure(err: RuntimeError, vocab_size: int) -> None:
    """Raise the user's mistake behind a trainer error, if it is one this module knows."""
    message = str(err)
    if match := _TOO_LARGE.search(message):
        raise SeqcliError(
            f"--vocab-size {vocab_size} is larger than this corpus allows"
            f" (at most {match.group(1)}); lower it"
        ) from None
    if match := _TOO_SMALL.search(message):
        raise _AlphabetTooLarge(int(match.group(1))) from None
