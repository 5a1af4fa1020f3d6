"""Corpora encoded once to a flat token-id file and memory-mapped on every later use.

Encoding streams chunk by chunk into a file, so a corpus larger than memory is never held
whole; training then reads the ids through ``numpy.memmap``, which pages in only what a
batch touches. The cache is keyed by the corpus (real path, size, modification time), the
tokenizer's fingerprint and the decoding options, so editing either re-encodes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from seqcli.atomic import atomic_path, atomic_write_text
from seqcli.data.corpus import STDIN, check_readable, iter_text_chunks
from seqcli.errors import SeqcliError

__all__ = ["check_cache_dir", "default_cache_dir", "token_stream"]

CACHE_FORMAT = 1
Progress = Callable[[int], None]


class StreamEncoder(Protocol):
    """What the cache needs of a tokenizer (see seqcli.text.Tokenizer)."""

    vocab_size: int

    def encode_stream(self, text: str) -> np.ndarray: ...

    def fingerprint(self) -> str: ...


def default_cache_dir() -> Path:
    """``$SEQCLI_CACHE_DIR``, else ``$XDG_CACHE_HOME/seqcli``, else ``~/.cache/seqcli``."""
    if env := os.environ.get("SEQCLI_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seqcli"


def check_cache_dir(cache_dir: Path) -> None:
    """Refuse a cache directory that cannot be created or written, before any work starts."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        probe = cache_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise SeqcliError(
            f"{cache_dir}: the token cache cannot be written there ({err.strerror or err}); "
            "set SEQCLI_CACHE_DIR to a writable directory"
        ) from None


def _id_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16 if vocab_size <= np.iinfo(np.uint16).max + 1 else np.uint32)


def _cache_key(path: Path, tokenizer: StreamEncoder, encoding_errors: str) -> str:
    stat = path.stat()
    key = {
        "format": CACHE_FORMAT,
        "path": str(path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "tokenizer": tokenizer.fingerprint(),
        "encoding_errors": encoding_errors,
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def _encode_chunks(path: Path, tokenizer: StreamEncoder, encoding_errors: str, progress):
    for text in iter_text_chunks(path, encoding_errors=encoding_errors):
        yield tokenizer.encode_stream(text)
        if progress is not None:
            progress(len(text.encode("utf-8")))


def token_stream(
    path: Path,
    tokenizer: StreamEncoder,
    *,
    encoding_errors: str = "strict",
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """The corpus as one 1-D array of token ids (a read-only memmap when cached).

    ``progress`` is called with the number of bytes encoded since its last call.
    Standard input, or ``cache_dir=None``, encodes into memory instead.
    """
    check_readable(path)
    dtype = _id_dtype(tokenizer.vocab_size)
    if path == STDIN or cache_dir is None:
        parts = list(_encode_chunks(path, tokenizer, encoding_errors, progress))
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = _cache_key(path, tokenizer, encoding_errors)
    ids_path, meta_path = cache_dir / f"{key}.ids", cache_dir / f"{key}.json"
    if not _valid_cache(ids_path, meta_path, dtype):
        _write_cache(path, tokenizer, encoding_errors, progress, ids_path, dtype)
        meta = {"path": str(path), "dtype": dtype.name, "length": ids_path.stat().st_size // dtype.itemsize}
        atomic_write_text(meta_path, json.dumps(meta))
    length = json.loads(meta_path.read_text())["length"]
    if length == 0:
        return np.zeros(0, dtype)
    return np.memmap(ids_path, dtype=dtype, mode="r", shape=(length,))


def _valid_cache(ids_path: Path, meta_path: Path, dtype: np.dtype) -> bool:
    try:
        meta = json.loads(meta_path.read_text())
        return meta["dtype"] == dtype.name and ids_path.stat().st_size == meta["length"] * dtype.itemsize
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _write_cache(path, tokenizer, encoding_errors, progress, ids_path: Path, dtype) -> None:
    with atomic_path(ids_path) as tmp, open(tmp, "wb") as out:
        # Plain appends, not a writable memmap: written pages of a memmap stay resident.
        for ids in _encode_chunks(path, tokenizer, encoding_errors, progress):
            ids.astype(dtype).tofile(out)
