"""Text read from an input never breaks a table nor reaches the terminal raw.

Group values with an escape sequence, a line break or a "|" are written escaped in the
plain, Markdown and terminal tables of eval and compare (a kept column already was).
"""

from __future__ import annotations

import pytest
from helpers import cli

SEGMENTS = ["ansi\x1b[31mred", "multi\nline", "x|y"]


@pytest.fixture
def files(tmp_path):
    import pandas as pd

    n = 30
    df = pd.DataFrame(
        {
            "y_true": [float(i % 5) for i in range(n)],
            "y_pred": [float(i % 5) + (0.5 if i % 2 else -0.25) for i in range(n)],
            "segment": [SEGMENTS[i % 3] for i in range(n)],
        }
    )
    base = tmp_path / "base.parquet"
    df.to_parquet(base)
    df["y_pred"] += 0.1
    cand = tmp_path / "cand.parquet"
    df.to_parquet(cand)
    return base, cand


def assert_escaped(out: str, rows: int) -> None:
    assert "\x1b" not in out and "\r" not in out
    assert "ansi\\x1b[31mred" in out and "multi\\nline" in out
    data = [line for line in out.splitlines() if line.lstrip("│| ").startswith("mse ")]
    assert len(data) == rows  # one line per result: no row split by a line break


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_eval_tables_escape_group_values(capsys, files, fmt):
    code, out, _ = cli(
        capsys, "eval", files[0], "--loss", "mse", "--group", "segment", "--format", fmt
    )
    assert code == 0
    assert_escaped(out, 4)
    if fmt == "markdown":
        assert "x\\|y" in out


def test_compare_table_escapes_group_values(capsys, files):
    code, out, _ = cli(
        capsys, "compare", *files, "--loss", "mse", "--group", "segment", "--bootstrap", "0", "-q"
    )
    assert code in (0, 1)
    assert_escaped(out, 4)


def test_the_terminal_table_escapes_group_values(capsys, files, monkeypatch):
    from losscli.cli import output

    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = cli(capsys, "eval", files[0], "--loss", "mse", "--group", "segment")
    assert code == 0
    assert_escaped(out, 4)


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_worst_rows_titles_escape_group_values(capsys, files, fmt):
    args = ["eval", files[0], "--loss", "mse", "--group", "segment", "--top", "1", "--format", fmt]
    code, out, _ = cli(capsys, *args)
    assert code == 0
    assert "\x1b" not in out
    assert "group ansi\\x1b[31mred" in out and "group multi\\nline" in out


def test_report_charts_label_group_values_escaped(capsys, files, tmp_path):
    """A group value with an escape sequence: the chart's label shows it escaped, and
    matplotlib has no missing-glyph warning to print."""
    pytest.importorskip("matplotlib")
    import re
    import warnings

    page = tmp_path / "r.html"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "Glyph 27 missing" warning fails the test
        code, _, err = cli(
            capsys, "report", files[0], "--loss", "mse", "--group", "segment", "-q", "-o", page
        )
    assert code == 0, err
    charts = "".join(re.findall(r"<svg.*?</svg>", page.read_text(encoding="utf-8"), re.S))
    assert "\x1b" not in charts and "ansi\\x1b[31mred" in charts


def test_wide_characters_keep_the_plain_table_aligned(tmp_path, capsys):
    """東京 takes two display cells a character: the piped table pads by display width,
    so the columns after a CJK group value start where the others' do."""
    from rich.cells import cell_len

    path = tmp_path / "cjk.csv"
    path.write_text("y_true,y_pred,region\n1,1.5,東京\n2,2.1,north\n3,2.5,Zürich\n", "utf-8")
    code, out, err = cli(capsys, "eval", path, "--loss", "mse", "--group", "region", "-q")
    assert code == 0, err
    import re

    lines = out.splitlines()
    # where the fourth column (n) starts, in display cells, on every line
    starts = {cell_len(line[: re.match(r"(\S+\s+){3}", line).end()]) for line in lines}
    assert len(starts) == 1, lines
