"""Code and docs cite where a rule lives in this repository, never an outside spec.

A comment that cites a section of the product spec sends a contributor to a document
that is not in the tree; rules are cited by the README section, the man page or the code
that owns them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("losscli", "tests", "man", "benchmarks", "README.md")
# Spelled in pieces so that this file does not cite what it forbids.
CITATIONS = ("SPEC" + " §", "SPEC" + ".md")


def scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        top = ROOT / name
        files += [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
    return [p for p in files if "__pycache__" not in p.parts]


@pytest.mark.parametrize("citation", CITATIONS, ids=["spec-section", "spec-file"])
def test_no_file_cites_the_outside_spec(citation: str) -> None:
    needle = citation.encode()
    citing = [str(p.relative_to(ROOT)) for p in scanned_files() if needle in p.read_bytes()]
    assert not citing, f"cite the README, a man page or the owning code instead of {citation!r}"
