"""eval --fail-above with --group gates the whole file's value, as its help says
(check, whose rules name a group, gates every group)."""

from __future__ import annotations

from pathlib import Path

from helpers import cli

REG = str(Path(__file__).resolve().parents[1] / "sample_data" / "regression.csv")


def test_eval_fail_above_with_group_gates_the_whole_file(capsys):
    """As its help says: the whole file's value (south is 3.19, the file 2.56)."""
    args = ["eval", REG, "--loss", "mse", "--group", "segment", "--fail-above", "mse=3"]
    code, out, _ = cli(capsys, *args)
    assert code == 0 and "check mse <= 3: passed" in out
    code, out, _ = cli(capsys, *args[:-1], "mse=2.5")
    assert code == 1 and "FAILED (value 2.55958)" in out
