"""-o naming an input file is refused before anything is written: ``grad preds.csv -o
preds.csv`` replaced the predictions with their gradients."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import cli

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "regression.csv"


@pytest.mark.parametrize(
    "args",
    [
        ["grad", "{f}", "--loss", "mse", "-o", "{f}"],
        ["eval", "{f}", "--loss", "mse", "--reduction", "none", "-o", "{f}"],
        ["eval", "{f}", "--loss", "mse", "-o", "{f}"],
        ["compare", "{other}", "{f}", "--loss", "mse", "-o", "{f}"],
        ["report", "{f}", "--loss", "mse", "-o", "{f}"],
        ["grad", "{link}", "--loss", "mse", "-o", "{f}"],
    ],
)
def test_the_input_file_is_not_written_over(capsys, tmp_path, args):
    f, other = tmp_path / "preds.csv", tmp_path / "other.csv"
    shutil.copy(SAMPLE, f)
    shutil.copy(SAMPLE, other)
    link = tmp_path / "link.csv"
    link.symlink_to(f)
    argv = [a.format(f=f, other=other, link=link) for a in args]
    code, out, err = cli(capsys, *argv)
    assert code == 2
    assert err.startswith(f"error: -o {f} is the input file ")
    assert f.read_bytes() == SAMPLE.read_bytes()
