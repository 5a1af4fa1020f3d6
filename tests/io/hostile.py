"""The hostile-input harness shared by every reader's property tests.

A reader given hostile input must either parse it or raise one clear, one-line
SeqcliError; anything else fails. With SEQCLI_HOSTILE_LOG set, each input's outcome is
appended there (bench/scale.py hostile counts them per reader).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from seqcli.errors import SeqcliError

EXAMPLES = int(os.environ.get("SEQCLI_HOSTILE_EXAMPLES", "60"))
HOSTILE = settings(
    max_examples=EXAMPLES, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

FRAGMENTS = [
    b"\n", b"\r\n", b"\r", b"\t", b"  ", b"\x00", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xe2\x82", b"word",
    b"\xc3\xa9", b"#", b"-", b"_", b"1", b"B-PER", b"I-LOC", b"O", b"{", b'"', b"}", b":", b"/", b"..",
]  # fmt: skip
# Bytes that look like text (and like the formats' own syntax) often enough to reach deep
# into the parsers, mixed with arbitrary bytes.
hostile_bytes = st.one_of(
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=12)), max_size=60).map(b"".join),
    st.binary(max_size=300),
)


def _record(reader: str, outcome: str) -> None:
    if log := os.environ.get("SEQCLI_HOSTILE_LOG"):
        with open(log, "a") as handle:
            handle.write(json.dumps({"reader": reader, "outcome": outcome}) + "\n")


def check_outcome(reader: str, parse: Callable[[], object]) -> None:
    """Run a reader on hostile input: a parse or a one-line SeqcliError, nothing else."""
    try:
        parse()
    except SeqcliError as err:
        assert "\n" not in str(err), "an error message must be one line"
        _record(reader, "clean-error")
        return
    except Exception:
        _record(reader, "crash")
        raise
    _record(reader, "parsed")
