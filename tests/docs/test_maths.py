"""The maths lives in docs/maths.md, and every citation of it points at a real section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
MATHS = ROOT / "docs" / "maths.md"
CITATION = re.compile(r'docs/maths\.md[,\s(]*\(?"([^"]+)"')


def project_files() -> list[Path]:
    return [*(ROOT / "seqcli").rglob("*.py"), *(ROOT / "docs").glob("*.md"), ROOT / "README.md"]


def test_no_file_cites_notes_users_do_not_have() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in project_files() if "SEQUENCE-MODELS" in p.read_text()]
    assert offenders == []


def test_every_cited_section_exists() -> None:
    headings = {line.lstrip("#").strip() for line in MATHS.read_text().splitlines() if line.startswith("#")}
    cited = {
        (str(path.relative_to(ROOT)), name)
        for path in project_files()
        for name in CITATION.findall(" ".join(path.read_text().split()))
    }
    assert cited, "no citation of docs/maths.md found"
    assert [c for c in cited if c[1] not in headings] == []


@pytest.mark.parametrize(
    "formula",
    ["c<t> = Γu * c̃<t> + Γf * c<t-1>", "c̃<t> = tanh(W_c [Γr * c<t-1>, x<t>] + b_c)", "perplexity = exp(L)"],
)
def test_the_formulas_are_written_out(formula: str) -> None:
    assert formula in MATHS.read_text()
