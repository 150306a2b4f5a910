"""An empty column name (``--weight "$UNSET"``) is a usage error, not an option dropped
(the weight, the group) nor an internal error (``--pred ''``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import cli

import losscli
from losscli.errors import UsageError

REG = str(Path(__file__).resolve().parents[1] / "sample_data" / "regression.csv")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pred", ""], "error: --pred is empty: it names no column"),
        (["--pred", ","], "error: --pred ',': an empty column name in the list"),
        (["--pred", "y_pred,"], "error: --pred 'y_pred,': an empty column name in the list"),
        (["--weight", ""], "error: --weight is empty: it names no column"),
        (["--group", ""], "error: --group is empty: it names no column"),
        (["--target", ""], "error: --target is empty: it names no column"),
    ],
)
@pytest.mark.parametrize("command", ["eval", "grad", "compare"])
def test_an_empty_column_name_is_refused(capsys, tmp_path, command, args, message):
    if command == "grad" and args[0] == "--group":
        return  # grad takes no group
    files = [REG, REG] if command == "compare" else [REG]
    out = ["-o", str(tmp_path / "g.csv")] if command == "grad" else []
    code, _, err = cli(capsys, command, *files, "--loss", "mse", *args, *out)
    assert code == 2
    assert err.splitlines()[0] == message
    assert err.splitlines()[1].startswith("hint: name a column")


def test_the_file_api_refuses_it_too():
    with pytest.raises(UsageError, match="--weight is empty"):
        losscli.evaluate_file(REG, "mse", weight="")


@pytest.mark.parametrize("command", ["eval", "grad"])
def test_one_column_as_target_and_prediction_is_refused(capsys, tmp_path, command):
    out = ["-o", str(tmp_path / "g.csv")] if command == "grad" else []
    args = ["--target", "y_pred", "--pred", "y_pred"]
    code, _, err = cli(capsys, command, REG, "--loss", "mse", *args, *out)
    assert code == 2
    assert err.splitlines()[0] == (
        "error: --target and --pred both name 'y_pred': a column compared with itself has no loss"
    )
