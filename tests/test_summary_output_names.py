"""-o naming a format a summary cannot be is refused (``-o s.parquet`` got a text table
that no Parquet reader opens); per-row output still writes Parquet."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import cli

REG = str(Path(__file__).resolve().parents[1] / "sample_data" / "regression.csv")


@pytest.mark.parametrize("name", ["s.parquet", "s.jsonl", "s.feather"])
@pytest.mark.parametrize("command", ["eval", "compare"])
def test_a_data_file_name_for_a_summary_is_refused(capsys, tmp_path, command, name):
    out = tmp_path / name
    files = [REG, REG] if command == "compare" else [REG]
    code, _, err = cli(capsys, command, *files, "--loss", "mse", "-o", out, "-q")
    assert code == 2 and not out.exists()
    assert err.startswith(f"error: -o {out}: {command} writes its summary by -o's extension")


def test_check_refuses_a_csv_summary(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "losscli.toml").write_text(f'[[check]]\nfile = "{REG}"\nloss = "mse"\nmax = 10\n')
    code, _, err = cli(capsys, "check", "-o", "results.csv")
    assert code == 2 and not (tmp_path / "results.csv").exists()
    assert "check writes its summary by -o's extension as .json, .md, .markdown, .xml" in err


def test_named_formats_and_per_row_parquet_still_write(capsys, tmp_path):
    import pandas as pd

    for name in ("s.json", "s.csv", "s.md", "s.txt"):
        code, _, err = cli(capsys, "eval", REG, "--loss", "mse", "-o", tmp_path / name, "-q")
        assert code == 0, err
    code, _, err = cli(
        capsys, "eval", REG, "--loss", "mse", "--format", "csv", "-o", tmp_path / "x.parquet", "-q"
    )
    assert code == 0, err  # --format says which: the user's name stands
    rows = tmp_path / "rows.parquet"
    code, _, err = cli(capsys, "eval", REG, "--loss", "mse", "--reduction", "none", "-o", rows)
    assert code == 0, err
    assert len(pd.read_parquet(rows)) == 2000
