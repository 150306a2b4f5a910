"""Files written with -o get the mode a shell's `>` gives them: what the umask allows for a
new file (0644 under umask 022), and the mode it had for a file they replace."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("POSIX file modes", allow_module_level=True)

SAMPLES = Path(__file__).resolve().parent.parent / "sample_data"
REG = str(SAMPLES / "regression.csv")
WORSE = str(SAMPLES / "regression_worse.csv")

# (command writing -o OUT, the output file name): every kind of file losscli writes
WRITERS = {
    "eval-json": (["eval", REG, "--loss", "mse", "--format", "json"], "report.json"),
    "eval-markdown": (["eval", REG, "--loss", "mse", "--format", "markdown"], "report.md"),
    "eval-rows-csv": (["eval", REG, "--loss", "mse", "--reduction", "none"], "rows.csv"),
    "eval-rows-parquet": (["eval", REG, "--loss", "mse", "--reduction", "none"], "rows.parquet"),
    "grad-csv": (["grad", REG, "--loss", "mse"], "grads.csv"),
    "grad-parquet": (["grad", REG, "--loss", "mse"], "grads.parquet"),
    "compare-json": (["compare", REG, WORSE, "--loss", "mse", "--format", "json"], "cmp.json"),
    "check-markdown": (["check", "--format", "markdown"], "checks.md"),
}


def _write(tmp_path: Path, writer: str, umask: int, mode_before: int | None) -> int:
    """Run the writer under a real umask (set by the shell); the output file's mode."""
    args, name = WRITERS[writer]
    out = tmp_path / name
    if mode_before is not None:
        out.write_text("old\n")
        os.chmod(out, mode_before)
    if writer.startswith("check"):
        config = tmp_path / "losscli.toml"
        config.write_text(f'[[check]]\nfile = "{REG}"\nloss = "mse"\nfail_above = 100\n')
        args = [*args, "--config", str(config)]
    cmd = shlex.join([sys.executable, "-m", "losscli", *args, "-o", str(out)])
    proc = subprocess.run(
        ["sh", "-c", f"umask {umask:03o} && exec {cmd}"], capture_output=True, text=True
    )
    assert proc.returncode in (0, 1), proc.stderr  # compare: 1 is the verdict, not a failure
    assert "Traceback" not in proc.stderr
    assert out.read_text(errors="replace") != "old\n"  # written, not left as it was
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    return stat.S_IMODE(out.stat().st_mode)


# Every writer once under umask 027 (0640, neither 0600 nor the usual 0644), a few under 022.
NEW = [(w, 0o027, 0o640) for w in WRITERS] + [
    (w, 0o022, 0o644) for w in ("eval-json", "eval-rows-csv", "grad-parquet")
]
# Every writer replacing a 0644 file under umask 077, a few replacing 0640 under 022.
REPLACED = [(w, 0o077, 0o644) for w in WRITERS] + [
    (w, 0o022, 0o640) for w in ("eval-markdown", "eval-rows-parquet", "grad-csv")
]


def _ids(cases: list) -> list[str]:
    return [f"{w}-umask{u:03o}-{m:03o}" for w, u, m in cases]


@pytest.mark.parametrize("writer, umask, mode", NEW, ids=_ids(NEW))
def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path: Path, writer, umask, mode) -> None:
    assert oct(_write(tmp_path, writer, umask, None)) == oct(mode)


@pytest.mark.parametrize("writer, umask, before", REPLACED, ids=_ids(REPLACED))
def test_a_replaced_file_keeps_its_mode(tmp_path: Path, writer, umask, before) -> None:
    assert oct(_write(tmp_path, writer, umask, before)) == oct(before)


@pytest.mark.parametrize("data", [b"\x89PNG...", "text"])
def test_the_atomic_writers_themselves_follow_the_umask(tmp_path: Path, data) -> None:
    """write_bytes_atomic (plot's images) and write_text_atomic, in a process of their own."""
    out = tmp_path / "curves.png"
    fn = "write_bytes_atomic" if isinstance(data, bytes) else "write_text_atomic"
    code = f"from losscli.io.sink import {fn} as w; import sys; w(sys.argv[1], {data!r})"
    cmd = shlex.join([sys.executable, "-c", code, str(out)])
    for umask, mode in [(0o022, 0o644), (0o027, 0o640)]:
        if out.exists():
            out.unlink()
        subprocess.run(["sh", "-c", f"umask {umask:03o} && exec {cmd}"], check=True)
        assert oct(stat.S_IMODE(out.stat().st_mode)) == oct(mode)
    os.chmod(out, 0o604)
    subprocess.run(["sh", "-c", f"umask 077 && exec {cmd}"], check=True)
    assert oct(stat.S_IMODE(out.stat().st_mode)) == oct(0o604)


def test_plot_images_follow_the_umask(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "curves.svg"
    cmd = shlex.join([sys.executable, "-m", "losscli", "plot", "--loss", "mse", "-o", str(out)])
    subprocess.run(["sh", "-c", f"umask 022 && exec {cmd}"], check=True, capture_output=True)
    assert oct(stat.S_IMODE(out.stat().st_mode)) == oct(0o644)


def test_a_dask_output_dataset_follows_the_umask_and_a_replaced_one_keeps_its_mode(
    tmp_path: Path,
) -> None:
    pytest.importorskip("dask")
    pytest.importorskip("distributed")
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    data = tmp_path / "preds.parquet"
    pq.write_table(pcsv.read_csv(REG), data)
    out = tmp_path / "grads"
    args = ["grad", str(data), "--loss", "mse", "--engine", "dask", "-o", str(out), "-q"]
    cmd = shlex.join([sys.executable, "-m", "losscli", *args])
    subprocess.run(["sh", "-c", f"umask 027 && exec {cmd}"], check=True, capture_output=True)
    parts = list(out.iterdir())
    assert parts and {oct(stat.S_IMODE(p.stat().st_mode)) for p in parts} == {oct(0o640)}
    assert oct(stat.S_IMODE(out.stat().st_mode)) == oct(0o750)
    os.chmod(out, 0o755)  # shared with others: a new run keeps it so
    subprocess.run(["sh", "-c", f"umask 077 && exec {cmd}"], check=True, capture_output=True)
    assert oct(stat.S_IMODE(out.stat().st_mode)) == oct(0o755)
