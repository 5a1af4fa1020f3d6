"""Speech manifests: which audio file says what, streamed and checked line by line.

A line is either ``path<TAB>transcript`` or, when it starts with ``{``, a JSON object with
string keys ``audio`` and ``text`` (other keys are ignored); the two kinds may be mixed.

    clips/0_george_0.wav	zero
    {"audio": "clips/1_george_0.wav", "text": "one", "duration": 0.4}

Relative audio paths are relative to the manifest's directory (the current directory for
standard input); absolute paths are kept. A relative path that climbs out of that directory
(``../secret.wav``) is refused unless ``allow_outside`` is set: a manifest copied from
elsewhere should not quietly read files beside it. The check is lexical (``normpath``) and
does not resolve symbolic links; the OS follows those when the audio is opened. Audio is not
read here, only checked to exist.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from seqcli.data.corpus import iter_lines
from seqcli.errors import SeqcliError

__all__ = ["ManifestEntry", "read_manifest"]


@dataclass(frozen=True)
class ManifestEntry:
    """One utterance: its audio file (checked to exist), its transcript, its manifest line."""

    audio: Path
    text: str
    line: int


def read_manifest(
    path: Path, *, allow_outside: bool = False, encoding_errors: str = "strict"
) -> Iterator[ManifestEntry]:
    """Entries of a TSV or JSONL manifest; blank lines are skipped."""
    for lineno, line in enumerate(iter_lines(path, encoding_errors=encoding_errors), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        audio, text = _parse_json(line, where) if line.lstrip().startswith("{") else _parse_tsv(line, where)
        if not audio:
            raise SeqcliError(f"{where}: empty audio path")
        if audio.splitlines() != [audio]:
            raise SeqcliError(f"{where}: audio path {audio!r} contains a line break")
        if not text:
            raise SeqcliError(f"{where}: empty transcript")
        audio_path = _locate(audio, path.parent, allow_outside, where)
        yield ManifestEntry(audio_path, text, lineno)


def _parse_tsv(line: str, where: str) -> tuple[str, str]:
    fields = line.split("\t")
    if len(fields) != 2:
        raise SeqcliError(
            f"{where}: expected 2 tab-separated columns (audio path, transcript), found {len(fields)}"
        )
    return fields[0].strip(), fields[1].strip()


def _parse_json(line: str, where: str) -> tuple[str, str]:
    try:
        entry = json.loads(line)  # starts with "{": an object, or an error
    except json.JSONDecodeError as err:
        raise SeqcliError(f"{where}: invalid JSON ({err.msg} at column {err.colno})") from None
    except (ValueError, RecursionError) as err:
        # json also refuses integers of more than 4300 digits and very deep nesting.
        raise SeqcliError(f"{where}: invalid JSON ({type(err).__name__}: {str(err)[:80]})") from None
    for key in ("audio", "text"):
        if key not in entry:
            raise SeqcliError(f'{where}: missing key "{key}" (an entry needs "audio" and "text")')
        if not isinstance(entry[key], str):
            raise SeqcliError(f'{where}: "{key}" must be a string, found {type(entry[key]).__name__}')
        try:
            entry[key].encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate (\ud800) is valid JSON but no text or file name can hold it.
            raise SeqcliError(f'{where}: "{key}" holds a lone surrogate escape, not text') from None
    return entry["audio"].strip(), entry["text"].strip()


def _locate(audio: str, root: Path, allow_outside: bool, where: str) -> Path:
    """The audio file's path, checked to stay under ``root`` (if relative) and to exist."""
    if os.path.isabs(audio):
        located = Path(audio)
    else:
        relative = os.path.normpath(audio)
        if not allow_outside and (relative == os.pardir or relative.startswith(os.pardir + os.sep)):
            raise SeqcliError(
                f"{where}: audio path {audio} points outside the manifest's directory;"
                " give it as an absolute path if that is intended"
            )
        located = Path(os.path.normpath(root / relative))
    try:
        exists = located.is_file()
    except OSError as err:
        raise SeqcliError(f"{where}: cannot check audio file {located} ({err.strerror})") from None
    if not exists:
        raise SeqcliError(f"{where}: audio file {located} not found")
    return located
