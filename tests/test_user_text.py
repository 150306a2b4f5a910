"""What users read describes the losses and their data, never how losscli was made.

Every explain text (text and JSON, every loss), every recommend text (every task, and
files), the help of every command, the README and the man pages are scanned for words
about the product's own history ("the seed derivative was wrong", "follows SPEC"), and the
numbers recommend shows are the user's: with a file, its class shares; with --task
alone, the formula and no invented share.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from losscli.cli.commands import run
from losscli.losses.registry import TASKS, available_losses

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data"

# Words about how the product was made. "seed" is also the bootstrap's random seed, which
# help, README and man pages document; explain and recommend have no random seed.
HISTORY = re.compile(
    r"derivative (was|is) wrong|derivative's extra|\bwas wrong\b|\bwere wrong\b"
    r"|earlier version|previous version|\bused to be\b|\bno longer\b|\bfollows? SPEC\b|§"
    r"|\bhere for \d",
    re.IGNORECASE,
)
SEED = re.compile(r"\bseed", re.IGNORECASE)


def cli(capsys, *args: object) -> str:
    code = run([str(a) for a in args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def _history(text: str) -> list[str]:
    return [m.group(0) for m in HISTORY.finditer(text)]


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_explain_texts_describe_the_loss(capsys, fmt):
    found = {}
    for name in available_losses(None):
        text = cli(capsys, "explain", name, "--format", fmt)
        if fmt == "json":  # keys name the guideline-table wording; scan the values
            text = json.dumps(json.loads(text), ensure_ascii=False)
        words = _history(text) + [m.group(0) for m in SEED.finditer(text)]
        if words:
            found[name] = words
    assert not found


@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
def test_recommend_texts_describe_the_task(capsys, fmt):
    found = {}
    for task in TASKS:
        text = cli(capsys, "recommend", "--task", task, "--format", fmt)
        words = _history(text) + [m.group(0) for m in SEED.finditer(text)]
        if words:
            found[task] = words
    for sample in ("imbalanced.csv", "regression.csv", "multiclass.csv", "counts.csv"):
        text = cli(capsys, "recommend", SAMPLES / sample, "--format", fmt)
        if _history(text):
            found[sample] = _history(text)
    assert not found


def test_losses_help_readme_and_man_pages_have_no_history_words(capsys):
    texts = {"losses": cli(capsys, "losses"), "README.md": (ROOT / "README.md").read_text()}
    for command in ("eval", "grad", "compare", "check", "recommend", "losses", "explain", "plot"):
        texts[f"{command} --help"] = cli(capsys, command, "--help")
    for page in sorted((ROOT / "man").glob("*.1")):
        texts[page.name] = page.read_text()
    found = {name: _history(text) for name, text in texts.items() if _history(text)}
    assert not found


def _imbalanced_file(path: Path, positives: int, rows: int) -> Path:
    rng = np.random.default_rng(1)
    y = np.zeros(rows, dtype=int)
    y[rng.choice(rows, positives, replace=False)] = 1
    p = np.clip(0.03 + 0.5 * y + rng.normal(0, 0.05, rows), 0.001, 0.999)
    lines = ["y_true,y_pred", *(f"{a},{b:.6f}" for a, b in zip(y, p, strict=True))]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_recommend_file_shows_the_files_share_not_an_example(capsys, tmp_path):
    path = _imbalanced_file(tmp_path / "rare.csv", positives=59, rows=2000)  # 2.95%
    doc = json.loads(cli(capsys, "recommend", path, "--format", "json"))
    weighted = next(r for r in doc["recommendations"] if r["loss"] == "weighted_bce")
    assert "2.95% positives" in weighted["params"]
    assert "1941/59" in weighted["params"]  # pos_weight = n₀ / n₁ with the file's counts
    w0, w1 = weighted["suggested"]["class_weights"]
    assert w0 == pytest.approx(2000 / (2 * 1941)) and w1 == pytest.approx(2000 / (2 * 59))
    text = cli(capsys, "recommend", path)
    assert "10%" not in text and "2.95%" in text


def test_recommend_task_alone_gives_the_formula_and_invents_no_share(capsys):
    doc = json.loads(cli(capsys, "recommend", "--task", "imbalanced", "--format", "json"))
    weighted = next(r for r in doc["recommendations"] if r["loss"] == "weighted_bce")
    assert weighted["spec"] == "weighted_bce(class_weights=[w0,w1])"
    assert "w_c = n / (2·n_c)" in weighted["params"]
    assert not re.search(r"\d+(\.\d+)?%", weighted["params"])
