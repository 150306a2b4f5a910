"""Helpers the test modules share: run a command line in-process or on a terminal.

Imported as ``from helpers import …`` (pytest puts ``tests/`` on the path, as for
``cases`` and ``convention_fixtures``).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from losscli.cli.commands import run
from losscli.losses.registry import get_loss

ROOT = Path(__file__).resolve().parents[1]  # the checkout
SAMPLES = ROOT / "sample_data"


def cli(capsys, *args: object) -> tuple[int, str, str]:
    """Run one command line in-process: (exit code, stdout, stderr)."""
    code = run([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def eval_json(capsys, *args: object, quiet: bool = False, codes: Sequence[int] = (0,)) -> dict:
    """``losscli eval ARGS --format json`` (and ``-q`` when ``quiet``): the document."""
    code, out, err = cli(capsys, "eval", *args, "--format", "json", *(["-q"] if quiet else []))
    assert code in codes, err
    return json.loads(out)


def values(capsys, *args: object) -> list[float]:
    """The values ``losscli eval ARGS --format json`` reports, in order."""
    return [r["value"] for r in eval_json(capsys, *args)["results"]]


def first_error(capsys, *args: object) -> str:
    """The first stderr line of a command that must exit 2."""
    code, _, err = cli(capsys, *args)
    assert code == 2
    return err.splitlines()[0]


def user_error(capsys, *args: object) -> str:
    """A command that must fail with exit 2: one ``error:`` line, nothing on stdout."""
    code, out, err = cli(capsys, *args)
    assert code == 2, f"exit {code}\nstdout: {out}\nstderr: {err}"
    assert out == "", out
    assert "Traceback" not in err, err
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    others = [line for line in lines if not line.startswith(("error:", "hint:", "note:"))]
    assert len(errors) == 1, f"expected one error: line, got\n{err}"
    assert not others, f"unexpected stderr lines: {others}"
    return errors[0]


def error_lines(code: int, out: str, err: str, expect_code: int = 2) -> tuple[str, str | None]:
    """Check the shape of a user error; return (error line, hint line or None)."""
    assert code == expect_code, f"exit {code}\nstdout: {out}\nstderr: {err}"
    assert "Traceback" not in err and "Traceback" not in out, err
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    hints = [line for line in lines if line.startswith("hint:")]
    others = [line for line in lines if not line.startswith(("error:", "hint:", "note:"))]
    assert len(errors) == 1, f"expected one error: line, got\n{err}"
    assert len(hints) <= 1, f"at most one hint: line, got\n{err}"
    assert not others, f"unexpected stderr lines: {others}"
    if hints:  # the hint follows its error
        assert lines.index(hints[0]) == lines.index(errors[0]) + 1, err
    return errors[0], (hints[0] if hints else None)


def parquet_in_parts(monkeypatch, parts: int = 2) -> list:
    """From now on a Parquet input of any size is read in ``parts`` parallel runs of row
    groups; the runs each read made are recorded (None where the input could not be cut)."""
    import losscli.engine.passes
    import losscli.io.parquet_reader

    made: list = []
    split = losscli.io.parquet_reader.split_row_groups

    def recorded(*args):
        made.append(split(*args))
        return made[-1]

    monkeypatch.setattr(losscli.io.parquet_reader, "PARALLEL_MIN_ROWS", 1)
    monkeypatch.setattr(losscli.engine.passes, "_parallel_parts", lambda: parts)
    monkeypatch.setattr(losscli.engine.passes, "split_row_groups", recorded)
    return made


def stdin_bytes(monkeypatch, data: bytes) -> None:
    """Make ``data`` the standard input of the next in-process run."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def on_pty(
    command: Sequence[str],
    *,
    terminal: Sequence[str],
    env: Mapping[str, str],
    window: int | None = None,
    decode_errors: str = "replace",
    **popen: object,
) -> tuple[int, str, dict[str, str]]:
    """Run ``command`` with the streams named in ``terminal`` on one pseudo-terminal.

    ``terminal`` holds ``"stdout"``, ``"stderr"`` or both; the other stream is a pipe.
    ``window`` sets the terminal's width in columns. Returns the exit status, what the
    terminal showed and what each piped stream carried.
    """
    import pty

    master, slave = pty.openpty()
    if window is not None:
        import fcntl
        import struct
        import termios

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, window, 0, 0))
    piped = [s for s in ("stdout", "stderr") if s not in terminal]
    streams = {s: (slave if s in terminal else subprocess.PIPE) for s in ("stdout", "stderr")}
    proc = subprocess.Popen(list(command), **streams, env=dict(env), **popen)  # type: ignore[call-overload]
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    pipes = {}
    for name in piped:
        stream = getattr(proc, name)
        pipes[name] = stream.read().decode()
        stream.close()
    return proc.wait(), b"".join(chunks).decode(errors=decode_errors), pipes


def succeeds(
    command: Sequence[str], *, timeout: float = 60, **run: object
) -> subprocess.CompletedProcess:
    """Run ``command`` to the end (text in UTF-8); it must exit 0, else its stderr is shown."""
    proc = subprocess.run(
        list(command), capture_output=True, text=True, encoding="utf-8", timeout=timeout, **run
    )  # type: ignore[call-overload]
    assert proc.returncode == 0, proc.stderr
    return proc


def parse_table(text: str) -> list[dict[str, str]]:
    """The rows of a plain aligned table (columns separated by two or more spaces)."""
    lines = text.splitlines()
    header = lines[0]
    names = re.split(r" {2,}", header.strip())
    starts, pos = [], 0
    for name in names:
        pos = header.index(name, pos)
        starts.append(pos)
        pos += len(name)
    rows = []
    for line in lines[1:]:
        if not line.strip():
            break
        cells = [
            line[start : (starts[i + 1] if i + 1 < len(starts) else None)].strip()
            for i, start in enumerate(starts)
        ]
        rows.append(dict(zip(names, cells)))
    return rows


def case_columns(case: Any) -> tuple[dict[str, Any], list[str], list[list[str]]]:
    """A ``cases.Case`` laid out as file columns: (columns, target names, prediction inputs)."""
    cols: dict[str, Any] = {}
    kind = get_loss(case.loss).inputs
    target: list[str] = []
    if case.y is not None:
        if case.y.ndim == 1:
            cols["y_true"] = case.y
            target = ["y_true"]
        else:
            target = [f"t_{j}" for j in range(case.y.shape[1])]
            cols.update({name: case.y[:, j] for j, name in enumerate(target)})
    inputs: list[list[str]] = []
    prefixes = {
        "triplet": ["anchor", "positive", "negative"],
        "pair_embedding": ["a", "b"],
        "ranking": ["x1", "x2"],
        "gaussian": ["y_pred", "var"],
    }.get(kind, ["p"])
    for k, x in enumerate(case.preds):
        prefix = prefixes[k] if k < len(prefixes) else f"in{k}"
        if x.ndim == 1:
            name = {"p": "y_pred"}.get(prefix, prefix)
            if kind == "triplet":
                name = ["d_ap", "d_an"][k]
            cols[name] = x
            inputs.append([name])
        else:
            names = [f"{prefix}_{j}" for j in range(x.shape[1])]
            cols.update({name: x[:, j] for j, name in enumerate(names)})
            inputs.append(names)
    return cols, target, inputs


def case_args(case: Any, target: list[str], inputs: list[list[str]]) -> list[str]:
    """The command line options that read ``case_columns``'s layout of a case."""
    args = ["--loss", case.loss]
    if target:
        args += ["--target", ",".join(target)]
    if get_loss(case.loss).inputs == "gaussian":
        args += ["--pred", "y_pred", "--var", "var"]
    else:
        for cols in inputs:
            args += ["--pred", ",".join(cols)]
    for key, value in case.params.items():
        text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        args += ["--param", f"{key}={text}"]
    if case.from_logits:
        args.append("--from-logits")
    return args


def csv_table(text: str) -> Any:
    """A CSV table as pandas reads it, an empty cell as missing."""
    import pandas as pd

    return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])


def assert_same_table(got: Any, expected: Any) -> None:
    """Two pandas tables with the same columns and rows: text equal (a missing cell as
    empty), numbers to 1e-12 relative."""
    import numpy as np
    import pandas as pd

    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for column in expected.columns:
        if column in (
            "loss",
            "params",
            "reduction",
            "group",
            "class",
        ) or not pd.api.types.is_numeric_dtype(expected[column]):
            mine = got[column].astype(object).where(got[column].notna(), "")
            theirs = expected[column].astype(object).where(expected[column].notna(), "")
            assert [str(v) for v in mine] == [str(v) for v in theirs], column
        else:
            np.testing.assert_allclose(
                got[column].to_numpy(float),
                expected[column].to_numpy(float),
                rtol=1e-12,
                atol=1e-300,
                err_msg=column,
            )
