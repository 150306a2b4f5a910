"""Messages that name what the user typed: an empty -o, --with-loss of a loss without
per-row values."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import cli

REG = str(Path(__file__).resolve().parents[1] / "sample_data" / "regression.csv")


@pytest.mark.parametrize(
    "command", [["eval", REG, "--loss", "mse"], ["grad", REG, "--loss", "mse"]]
)
def test_an_empty_output_name(capsys, command):
    code, _, err = cli(capsys, *command, "-o", "")
    assert code == 2
    assert err.splitlines()[0] == "error: -o is empty: give a file name, or - for stdout"


def test_with_loss_of_a_loss_without_rows(capsys, tmp_path):
    out = tmp_path / "g.csv"
    code, _, err = cli(capsys, "grad", REG, "--loss", "rmse", "--with-loss", "-o", out)
    assert code == 2 and not out.exists()
    assert err.splitlines() == [
        "error: --with-loss writes each row's loss Lᵢ: rmse has no per-row loss",
        "hint: drop --with-loss, or write the gradient of a loss with per-row values",
    ]
