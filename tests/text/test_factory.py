"""The factory is the one place that maps tokenizer types to classes: no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import seqcli.text
from seqcli.text import TOKENIZER_TYPES
from seqcli.text.factory import TOKENIZER_CLASSES, _tokenizer_class
from seqcli.text.tokenizer import Tokenizer

TEXT = Path(seqcli.text.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (function bodies included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_base_module_imports_no_tokenizer_type() -> None:
    imported = imported_modules(TEXT / "tokenizer.py")
    assert not imported & {"seqcli.text.char", "seqcli.text.word", "seqcli.text.spm", "seqcli.text.factory"}


@pytest.mark.parametrize("name", ["char.py", "word.py", "spm.py", "vocabulary.py", "tokenizer.py"])
def test_no_tokenizer_module_imports_the_factory(name: str) -> None:
    assert "seqcli.text.factory" not in imported_modules(TEXT / name)


@pytest.mark.parametrize("kind", TOKENIZER_TYPES)
def test_every_type_has_a_tokenizer_class(kind: str) -> None:
    assert set(TOKENIZER_CLASSES) == set(TOKENIZER_TYPES)
    assert issubclass(_tokenizer_class(kind), Tokenizer)
