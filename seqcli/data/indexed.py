"""Indexed caches: many variable-length items (sentences as token ids, utterances as feature
frames) in one flat memory-mapped array plus per-item offsets.

Sentence-level tasks encode their data once: item ``i`` is ``data[offsets[i]:offsets[i+1]]``.
The data file is written by plain appends and read through ``numpy.memmap``, so sets larger
than memory train, and a second run (or every torchrun rank after rank 0) only maps the file.
A cache is keyed by a dict that names everything the content depends on — the input file's
identity (:func:`file_identity`), the tokenizer's fingerprint, the side (source / target),
the reader's options — so changing any of them builds a new cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from seqcli.atomic import atomic_path, atomic_write_text
from seqcli.data.corpus import STDIN

__all__ = ["IndexedArray", "build_indexed", "file_identity", "indexed_cache"]

CACHE_FORMAT = 1


class IndexedArray:
    """Items of different lengths in one array: ``data (total, *feature_shape)`` and
    ``offsets (N + 1,)``; ``array[i]`` is item i, ``array.lengths`` their lengths."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray) -> None:
        self.data, self.offsets = data, np.asarray(offsets, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> np.ndarray:
        return self.data[self.offsets[index] : self.offsets[index + 1]]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def subset(self, indices: np.ndarray) -> IndexedArray:
        """The items at ``indices``, in that order (copied into memory)."""
        items = [self[int(i)] for i in indices]
        return build_indexed(items, dtype=self.data.dtype, feature_shape=self.data.shape[1:])


def build_indexed(
    items: Iterable[np.ndarray], *, dtype: np.dtype | type, feature_shape: tuple[int, ...] = ()
) -> IndexedArray:
    """An in-memory :class:`IndexedArray` of ``items`` (no cache).

    >>> array = build_indexed([np.array([4, 5]), np.array([6])], dtype=np.uint16)
    >>> len(array), array[1].tolist(), array.lengths.tolist()
    (2, [6], [2, 1])
    """
    parts = [np.asarray(item, dtype=dtype).reshape(-1, *feature_shape) for item in items]
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    data = np.concatenate(parts) if parts else np.zeros((0, *feature_shape), dtype=dtype)
    return IndexedArray(data, offsets)


def file_identity(path: Path) -> dict[str, Any]:
    """What a cache of ``path`` depends on: its real path, size and modification time."""
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def indexed_cache(
    key: dict[str, Any],
    build: Callable[[], Iterable[np.ndarray]],
    *,
    dtype: np.dtype | type,
    cache_dir: Path | None,
    feature_shape: tuple[int, ...] = (),
) -> IndexedArray:
    """The items ``build()`` yields, from the cache under ``key`` if it holds them, else built
    and cached there; ``cache_dir=None`` (or a key naming standard input) builds in memory."""
    dtype = np.dtype(dtype)
    if cache_dir is None or key.get("path") == str(STDIN):
        return build_indexed(build(), dtype=dtype, feature_shape=feature_shape)
    cache_dir.mkdir(parents=True, exist_ok=True)
    full_key = {"format": CACHE_FORMAT, "dtype": dtype.name, "feature_shape": list(feature_shape), **key}
    digest = hashlib.sha256(json.dumps(full_key, sort_keys=True, default=str).encode()).hexdigest()[:32]
    data_path, meta_path = cache_dir / f"{digest}.items", cache_dir / f"{digest}.items.json"
    meta = _read_meta(meta_path, data_path, dtype, feature_shape)
    if meta is None:
        offsets = _write_items(build(), data_path, dtype, feature_shape)
        meta = {"offsets": offsets.tolist(), "dtype": dtype.name, "feature_shape": list(feature_shape)}
        atomic_write_text(meta_path, json.dumps(meta))
    offsets = np.asarray(meta["offsets"], dtype=np.int64)
    if offsets[-1] == 0:
        return IndexedArray(np.zeros((0, *feature_shape), dtype=dtype), offsets)
    data = np.memmap(data_path, dtype=dtype, mode="r", shape=(int(offsets[-1]), *feature_shape))
    return IndexedArray(data, offsets)


def _read_meta(meta_path: Path, data_path: Path, dtype: np.dtype, shape: tuple[int, ...]) -> dict | None:
    try:
        meta = json.loads(meta_path.read_text())
        rows = meta["offsets"][-1]
        expected = rows * int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        valid = meta["dtype"] == dtype.name and data_path.stat().st_size == expected
        return meta if valid else None
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def _write_items(items: Iterable[np.ndarray], data_path: Path, dtype: np.dtype, shape) -> np.ndarray:
    offsets = [0]
    with atomic_path(data_path) as tmp, open(tmp, "wb") as out:
        # Plain appends, not a writable memmap: written pages of a memmap stay resident.
        for item in items:
            array = np.asarray(item, dtype=dtype).reshape(-1, *shape)
            array.tofile(out)
            offsets.append(offsets[-1] + len(array))
    return np.asarray(offsets, dtype=np.int64)
