"""Tokenizers behind one interface: char, word, and sentencepiece bpe and unigram.

Every one reserves ``<pad> <unk> <bos> <eos>`` at ids 0, 1, 2, 3. Train one with
:func:`train_tokenizer`, save it with ``Tokenizer.save`` and read it back with
:func:`load_tokenizer`.
"""

from __future__ import annotations

from seqcli.text.factory import load_tokenizer, train_tokenizer
from seqcli.text.tokenizer import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    TOKENIZER_TYPES,
    UNK_ID,
    Tokenizer,
    check_tokenizer_directory,
)

__all__ = [
    "BOS_ID",
    "EOS_ID",
    "PAD_ID",
    "SPECIAL_TOKENS",
    "TOKENIZER_TYPES",
    "UNK_ID",
    "Tokenizer",
    "check_tokenizer_directory",
    "load_tokenizer",
    "train_tokenizer",
]
