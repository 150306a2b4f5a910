"""Time and peak RSS of `losscli eval`/`grad` beside what users do today, as fresh processes.

Usage: python benchmarks/run.py [--cases csv,parquet,grad,multi,report,top,50m,startup]
                                [--repeat 3]
                                [--startup-repeat 20] [--data DIR] [--json OUT]

Every contender runs as a fresh process (`losscli ...` or `python -c SCRIPT FILE`), N times
after the page cache is warmed; the table shows the best and median wall time and the median
peak RSS of the child. The loss values must agree to 1e-6 (relative); gradients written
by `grad` are read back and checked against 2(ŷ − y)/n. Targets from issue 7 are checked at
the end. Data come from `benchmarks/generate.py` (run as a subprocess): into --data DIR,
reusing the files there, or into a temporary directory removed afterwards.

Time and RSS are taken by a tiny wrapper process around each command (python -I -S:
posix_spawn, then wait4 for the child's rusage). On Linux a child's ru_maxrss is at least
its parent's peak RSS (exec records the old address space's high-water mark), so the
wrapper, not the runner, sets that floor; it is measured and printed. POSIX only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable
ALL_CASES = ("csv", "parquet", "grad", "multi", "report", "top", "50m", "startup")
TOLERANCE = 1e-6
BUSY = 0.2  # a run starts on a "busy" machine when other work uses more than 20% of the CPUs
HEAVY = ("numpy", "pyarrow", "pandas")
VERSIONS = (
    "losscli",
    "numpy",
    "pyarrow",
    "pandas",
    "polars",
    "duckdb",
    "scikit-learn",
    "typer",
    "rich",
)
CLASSES = [f"prob_{c}" for c in range(10)]

# --------------------------------------------------------------------------- peers' scripts
# Each script gets the input file as argv[1] (and the output file as argv[2] for gradients)
# and prints the loss value as its last line.

PANDAS_SKLEARN = {
    "mse": """
import sys
import pandas as pd
from sklearn.metrics import mean_squared_error
d = pd.READ(sys.argv[1])
print(mean_squared_error(d["y_true"], d["y_pred"]))
""",
    "bce": """
import sys
import pandas as pd
from sklearn.metrics import log_loss
d = pd.READ(sys.argv[1])
print(log_loss(d["y_true"], d["y_pred"]))
""",
    "ce": """
import sys
import pandas as pd
from sklearn.metrics import log_loss
d = pd.READ(sys.argv[1])
p = d[[f"prob_{c}" for c in range(10)]].to_numpy()
print(log_loss(d["label"], p, labels=list(range(10))))
""",
}

PANDAS_NUMPY = {
    "mse": """
import sys
import numpy as np
import pandas as pd
d = pd.READ(sys.argv[1])
e = d["y_true"].to_numpy() - d["y_pred"].to_numpy()
print(float(np.mean(e * e)))
""",
    "bce": """
import sys
import numpy as np
import pandas as pd
d = pd.READ(sys.argv[1])
y, p = d["y_true"].to_numpy(), d["y_pred"].to_numpy()
print(float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))))
""",
    "ce": """
import sys
import numpy as np
import pandas as pd
d = pd.READ(sys.argv[1])
p = d[[f"prob_{c}" for c in range(10)]].to_numpy()
y = d["label"].to_numpy()
print(float(-np.mean(np.log(p[np.arange(len(y)), y]))))
""",
}

# The floor: pyarrow's streaming reader and a zero-copy numpy view of each batch, nothing else.
PYARROW_PROLOGUE = """
import sys
import numpy as np
import pyarrow as pa

def view(a, dtype=np.float64):
    # zero-copy view of a null-free primitive array (Array.to_numpy would import pandas)
    if a.null_count:
        raise SystemExit("unexpected nulls")
    size = np.dtype(dtype).itemsize
    return np.frombuffer(a.buffers()[1], dtype=dtype, count=len(a), offset=a.offset * size)

def batches(path, types):
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq
        return pq.ParquetFile(path).iter_batches(batch_size=65536, columns=list(types))
    import pyarrow.csv as csv
    return csv.open_csv(path, convert_options=csv.ConvertOptions(column_types=types))

s, n = 0.0, 0
"""

PYARROW_STREAMING = {
    "mse": """
for b in batches(sys.argv[1], {"y_true": pa.float64(), "y_pred": pa.float64()}):
    e = view(b.column("y_true")) - view(b.column("y_pred"))
    s += float(np.sum(e * e))
    n += len(e)
print(s / n)
""",
    "bce": """
for b in batches(sys.argv[1], {"y_true": pa.float64(), "y_pred": pa.float64()}):
    y, p = view(b.column("y_true")), view(b.column("y_pred"))
    s -= float(np.sum(y * np.log(p) + (1 - y) * np.log1p(-p)))
    n += len(y)
print(s / n)
""",
    "ce": """
types = {"label": pa.int64()} | {f"prob_{c}": pa.float64() for c in range(10)}
for b in batches(sys.argv[1], types):
    y = view(b.column("label"), np.int64)
    p = np.choose(y, [view(b.column(f"prob_{c}")) for c in range(10)])
    s -= float(np.sum(np.log(p)))
    n += len(y)
print(s / n)
""",
}

POLARS = {
    "mse": """
import sys
import polars as pl
e = pl.col("y_true") - pl.col("y_pred")
print(pl.SCAN(sys.argv[1]).select((e * e).mean()).collect().item())
""",
    "bce": """
import sys
import polars as pl
y, p = pl.col("y_true"), pl.col("y_pred")
loss = -(y * p.log() + (1 - y) * (1 - p).log())
print(pl.SCAN(sys.argv[1]).select(loss.mean()).collect().item())
""",
    "ce": """
import sys
import polars as pl
label = pl.col("label")
p_y = pl.when(label == 0).then(pl.col("prob_0"))
for c in range(1, 10):
    p_y = p_y.when(label == c).then(pl.col(f"prob_{c}"))
print(pl.SCAN(sys.argv[1]).select((-p_y.log()).mean()).collect().item())
""",
}

DUCKDB_SQL = {
    "mse": "avg((y_true - y_pred) * (y_true - y_pred))",
    "bce": "avg(-(y_true * ln(y_pred) + (1 - y_true) * ln(1 - y_pred)))",
    "ce": f"avg(-ln([{', '.join(CLASSES)}][label + 1]))",
}

DUCKDB = """
import sys
import duckdb
src = sys.argv[1].replace("'", "''")
print(duckdb.execute(f"SELECT EXPR FROM READ('{src}')").fetchone()[0])
"""

# Gradients of the mean squared error, ∂J/∂ŷ = 2(ŷ − y)/n, as columns row,grad_y_pred.
GRAD_PANDAS = """
import sys
import numpy as np
import pandas as pd
read = pd.read_parquet if sys.argv[1].endswith(".parquet") else pd.read_csv
d = read(sys.argv[1])
n = len(d)
g = pd.DataFrame({"row": np.arange(n), "grad_y_pred": 2.0 * (d["y_pred"] - d["y_true"]) / n})
if sys.argv[2].endswith(".parquet"):
    g.to_parquet(sys.argv[2], index=False)
else:
    g.to_csv(sys.argv[2], index=False)
"""

GRAD_POLARS = """
import sys
import polars as pl
d = (pl.read_parquet if sys.argv[1].endswith(".parquet") else pl.read_csv)(sys.argv[1])
g = d.select(
    pl.int_range(pl.len()).alias("row"),
    (2.0 * (pl.col("y_pred") - pl.col("y_true")) / pl.len()).alias("grad_y_pred"),
)
if sys.argv[2].endswith(".parquet"):
    g.write_parquet(sys.argv[2])
else:
    g.write_csv(sys.argv[2])
"""

GRAD_DUCKDB = """
import sys
import duckdb
src, out = (a.replace("'", "''") for a in sys.argv[1:3])
fmt = "(FORMAT parquet)" if out.endswith(".parquet") else "(HEADER, DELIMITER ',')"
read = "read_parquet" if src.endswith(".parquet") else "read_csv"
duckdb.execute(
    "COPY (SELECT row_number() OVER () - 1 AS row, "
    "2.0 * (y_pred - y_true) / count(*) OVER () AS grad_y_pred "
    f"FROM {read}('{src}')) TO '{out}' {fmt}"
)
"""

GRAD_PYARROW = """
import sys
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as csv
import pyarrow.parquet as pq
t = (pq.read_table if sys.argv[1].endswith(".parquet") else csv.read_csv)(sys.argv[1])
n = t.num_rows
g = pc.divide(pc.multiply(pc.subtract(t["y_pred"], t["y_true"]), 2.0), float(n))
out = pa.table({"row": pa.array(np.arange(n)), "grad_y_pred": g})
if sys.argv[2].endswith(".parquet"):
    pq.write_table(out, sys.argv[2])
else:
    csv.write_csv(out, sys.argv[2])
"""

# Reads a gradient file back (not timed) and prints max |g − 2(ŷ − y)/n| / max |2(ŷ − y)/n|.
GRAD_CHECK = """
import sys
import numpy as np
import pyarrow.csv as csv
import pyarrow.parquet as pq
src, out = sys.argv[1], sys.argv[2]
t = pq.read_table(src) if src.endswith(".parquet") else csv.read_csv(src)
y, p = t["y_true"].to_numpy(), t["y_pred"].to_numpy()
g = pq.read_table(out) if out.endswith(".parquet") else csv.read_csv(out)
row = g["row"].to_numpy()
grad = g["grad_y_pred"].to_numpy()
if len(row) != len(y) or not np.array_equal(np.sort(row), np.arange(len(y))):
    raise SystemExit(f"rows: {len(row)} written, {len(y)} expected, or not 0..n-1")
expected = 2.0 * (p - y) / len(y)
print(float(np.max(np.abs(grad[np.argsort(row)] - expected)) / np.max(np.abs(expected))))
"""


def script(template: str, **tokens: str) -> str:
    """A peer script with its READ/SCAN/EXPR tokens filled in."""
    for token, value in tokens.items():
        template = template.replace(token, value)
    return template.strip() + "\n"


# --------------------------------------------------------------------------- measurement


@dataclass
class Contender:
    """One command of a case. `peer` is False for losscli's own commands."""

    name: str
    argv: list[str]
    peer: bool = True
    loss: str | None = None  # losscli: which result of the JSON document is the value
    output: Path | None = None  # grad: the file written, checked after the runs


@dataclass
class Result:
    """The samples of one contender: wall seconds and peak RSS (MiB) per run."""

    name: str
    argv: list[str]
    peer: bool
    times: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    value: float | None = None
    error: str | None = None
    busy: list[float] = field(default_factory=list)  # CPU use by others just before each run
    output_bytes: int | None = None  # the size of the file it wrote (report: the page)

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.times)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def peak(self) -> float:
        return statistics.median(self.rss)


@dataclass
class Case:
    """A table: contenders run on the same data, with how their values are compared."""

    key: str
    title: str
    contenders: list[Contender]
    files: list[Path] = field(default_factory=list)
    check: str = "value"  # value | grad | none
    repeat: int | None = None
    results: dict[str, Result] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    imports: dict[str, list[str]] = field(default_factory=dict)  # start-up: heavy modules


def rss_scale() -> int:
    """Bytes per unit of ru_maxrss (KiB on Linux, bytes on macOS)."""
    return 1 if sys.platform == "darwin" else 1024


def rss_mib(usage: resource.struct_rusage) -> float:
    """ru_maxrss in MiB."""
    return usage.ru_maxrss * rss_scale() / 2**20


# Each measured command runs under this tiny wrapper (python -I -S, a few MiB), which times
# it and takes its rusage from wait4. On Linux a child's ru_maxrss starts at its parent's
# peak RSS (exec records the old address space's high-water mark), so the wrapper, not the
# runner, sets the floor of every RSS figure; `rss_floor` measures that floor.
WRAPPER = """
import os, sys, time
start = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - start
with open(sys.argv[1], "w") as f:
    f.write(f"{elapsed!r} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def spawn(argv: list[str], wrap: bool = True) -> tuple[float, float, int, str, str]:
    """Run argv as a fresh process: (wall s, peak RSS MiB, exit status, stdout, stderr).

    With wrap, time and RSS come from the wrapper process; without, from the runner's own
    wait4 (then the RSS is at least the runner's peak).
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as report,
    ):
        command = [PY, "-I", "-S", "-c", WRAPPER, report.name, *argv] if wrap else argv
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
            (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
        ]
        start = time.perf_counter()
        pid = os.posix_spawn(command[0], command, os.environ, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        elapsed, rss, code = (
            time.perf_counter() - start,
            rss_mib(usage),
            os.waitstatus_to_exitcode(status),
        )
        if wrap:
            fields = report.read().split()
            if code != 0 or len(fields) != 3:
                raise SystemExit(f"the measuring wrapper failed (exit {code}) on {argv}")
            elapsed, rss, code = (
                float(fields[0]),
                int(fields[1]) * rss_scale() / 2**20,
                int(fields[2]),
            )
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        return elapsed, rss, code, stdout, err.read().decode(errors="replace")


def rss_floor() -> float:
    """The peak RSS the wrapper reports for a program that does nothing."""
    true = shutil.which("true")
    return spawn([true])[1] if true else float("nan")


def parse_value(contender: Contender, stdout: str) -> float | None:
    """The loss value a contender printed: losscli's JSON document or a peer's last line."""
    if contender.loss is not None:
        doc = json.loads(stdout)
        return next(r["value"] for r in doc["results"] if r["loss"] == contender.loss)
    lines = stdout.strip().splitlines()
    try:
        return float(lines[-1]) if lines else None
    except ValueError:
        return None


def cpu_busy(interval: float = 0.25) -> float | None:
    """Fraction of all CPUs busy during `interval` seconds (from /proc/stat; None elsewhere)."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return values[3] + values[4], sum(values)  # (idle + iowait, total)

    try:
        idle0, total0 = sample()
        time.sleep(interval)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1.0 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_for_idle(max_wait: float) -> float | None:
    """Wait up to max_wait s for other work to leave the CPUs idle; the last busy fraction."""
    deadline = time.monotonic() + max_wait
    while True:
        busy = cpu_busy()
        if busy is None or busy <= BUSY or time.monotonic() >= deadline:
            return busy
        time.sleep(0.5)


def measure(contender: Contender, result: Result, idle_wait: float = 0.0) -> None:
    """Run a contender once and add the sample to its result (a failure becomes its error).

    Before the run, wait (up to idle_wait s) for a quiet machine and record how busy it was.
    """
    if result.error is not None:
        return
    if contender.output is not None:
        contender.output.unlink(missing_ok=True)
    busy = wait_for_idle(idle_wait)
    if busy is not None:
        result.busy.append(busy)
    elapsed, rss, code, stdout, stderr = spawn(contender.argv)
    if code != 0:
        tail = " | ".join(stderr.strip().splitlines()[-3:])
        result.error = f"exit {code}: {tail[:300]}"
        return
    result.times.append(elapsed)
    result.rss.append(rss)
    result.value = parse_value(contender, stdout)


def warm(paths: list[Path]) -> None:
    """Read each file once so every contender starts from a warm page cache."""
    buffer = bytearray(8 * 2**20)
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.readinto(buffer):
                pass


def check_gradient(source: Path, output: Path) -> tuple[float | None, str | None]:
    """Read a written gradient file back in a separate process: (max relative error, error)."""
    _, _, code, stdout, stderr = spawn([PY, "-c", GRAD_CHECK, str(source), str(output)], wrap=False)
    if code != 0:
        return None, f"check failed: {stderr.strip().splitlines()[-1:]}"
    return float(stdout.strip().splitlines()[-1]), None


def run_case(case: Case, repeat: int, idle_wait: float = 0.0) -> None:
    """Warm the cache, run the contenders in turn N times, then check values or gradient files.

    Taking turns (A B C, A B C, ...) spreads any disturbance from other work over all of them.
    """
    warm(case.files)
    case.results = {c.name: Result(c.name, c.argv, c.peer) for c in case.contenders}
    n = case.repeat or repeat
    for i in range(n):
        for contender in case.contenders:
            print(f"  {case.key} [{i + 1}/{n}] {contender.name}", file=sys.stderr, flush=True)
            measure(contender, case.results[contender.name], idle_wait)
    for contender in case.contenders:
        result = case.results[contender.name]
        if result.ok and case.check == "grad" and contender.output is not None:
            result.value, result.error = check_gradient(case.files[0], contender.output)
        if contender.output is not None:
            if contender.output.exists():
                result.output_bytes = contender.output.stat().st_size
            contender.output.unlink(missing_ok=True)
    case.notes.extend(agreement(case))
    case.notes.extend(busy_notes(case))


def busy_notes(case: Case) -> list[str]:
    """Notes on runs that started while other processes kept the CPUs busy."""
    notes = []
    for r in case.results.values():
        busy = [b for b in r.busy if b > BUSY]
        if busy:
            notes.append(
                f"note: {len(busy)} of {len(r.busy)} runs of {r.name} started with other work "
                f"using {max(busy):.0%} of the CPUs"
            )
    return notes


def agreement(case: Case) -> list[str]:
    """Warnings for values that differ from losscli's (or grad errors above tolerance)."""
    notes = []
    ok = [r for r in case.results.values() if r.ok]
    if case.check == "grad":
        for r in ok:
            if r.value is None or r.value > TOLERANCE:
                notes.append(f"WARNING: {r.name} gradients off by {r.value} (relative)")
        return notes
    if case.check != "value" or not ok:
        return notes
    reference = next((r for r in ok if not r.peer), ok[0])
    for r in ok:
        if r.value is None or reference.value is None:
            notes.append(f"WARNING: {r.name} printed no loss value")
            continue
        rel = abs(r.value - reference.value) / max(abs(reference.value), 1e-300)
        if rel > TOLERANCE:
            notes.append(
                f"WARNING: {r.name} = {r.value!r} differs from {reference.name} = "
                f"{reference.value!r} (relative {rel:.2e} > {TOLERANCE:g})"
            )
    if not notes:
        notes.append(f"values agree to {TOLERANCE:g} relative")
    return notes


# --------------------------------------------------------------------------- cases


def losscli_argv(*args: str) -> list[str]:
    """The installed console script beside this interpreter, else `python -m losscli`."""
    exe = Path(PY).parent / "losscli"
    return [str(exe), *args] if exe.exists() else [PY, "-m", "losscli", *args]


def installed(dist: str) -> bool:
    """Whether a distribution is installed (without importing it)."""
    try:
        metadata.version(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


def eval_contenders(path: Path, loss: str, kind: str) -> list[Contender]:
    """losscli and the five peers computing one loss (mse, bce or ce) on one file."""
    parquet = path.suffix == ".parquet"
    flag = {"mse": "mse", "bce": "bce", "ce": "cross_entropy"}[loss]
    read = "read_parquet" if parquet else "read_csv"
    scan = "scan_parquet" if parquet else "scan_csv"
    peers = [
        ("pandas + sklearn", ("pandas", "scikit-learn"), script(PANDAS_SKLEARN[loss], READ=read)),
        ("pandas + numpy", ("pandas",), script(PANDAS_NUMPY[loss], READ=read)),
        (
            "pyarrow streaming (floor)",
            ("pyarrow",),
            script(PYARROW_PROLOGUE + PYARROW_STREAMING[loss]),
        ),
        ("polars", ("polars",), script(POLARS[loss], SCAN=scan)),
        ("duckdb", ("duckdb",), script(DUCKDB, EXPR=DUCKDB_SQL[loss], READ=read)),
    ]
    argv = losscli_argv("eval", str(path), "--loss", flag, "--format", "json")
    out = [Contender("losscli", argv, peer=False, loss=flag)]
    for name, dists, code in peers:
        if all(installed(d) for d in dists):
            out.append(Contender(name, [PY, "-c", code, str(path)]))
        else:
            print(f"note: {name} skipped ({', '.join(dists)} not installed)", file=sys.stderr)
    return out


def eval_cases(data: Path, kind: str) -> list[Case]:
    """The three CSV cases or the two Parquet cases of the issue's table."""
    specs = {
        "csv": [
            ("regression.csv", "mse", "regression CSV, MSE (5M rows)"),
            ("binary.csv", "bce", "binary CSV, BCE (5M rows)"),
            ("multiclass.csv", "ce", "10-class CSV, CE (1M rows)"),
        ],
        "parquet": [
            ("regression.parquet", "mse", "regression Parquet, MSE (5M rows)"),
            ("multiclass.parquet", "ce", "10-class Parquet, CE (1M rows)"),
        ],
    }[kind]
    cases = []
    for name, loss, title in specs:
        path = data / name
        title = f"{title}, {path.stat().st_size / 2**20:.0f} MiB"
        cases.append(Case(kind, title, eval_contenders(path, loss, kind), [path]))
    return cases


def grad_cases(data: Path, scratch: Path) -> list[Case]:
    """Per-row MSE gradients of the 5M-row regression CSV, written to CSV and to Parquet,
    and of the regression Parquet file, written to Parquet."""
    cases = []
    to_csv = ("pandas to_csv", "polars write_csv", "duckdb COPY", "pyarrow eager")
    to_parquet = ("pandas to_parquet", "polars write_parquet", "duckdb COPY", "pyarrow eager")
    for name, ext, writers in (
        ("regression.csv", "csv", to_csv),
        ("regression.csv", "parquet", to_parquet),
        ("regression.parquet", "parquet", to_parquet),
    ):
        src = data / name
        tag = "" if name.endswith(".csv") else "_from_parquet"
        scripts = (GRAD_PANDAS, GRAD_POLARS, GRAD_DUCKDB, GRAD_PYARROW)
        dists = (("pandas",), ("polars",), ("duckdb",), ("pyarrow",))
        out = scratch / f"grad_losscli{tag}.{ext}"
        argv = losscli_argv("grad", str(src), "--loss", "mse", "-o", str(out))
        contenders = [Contender("losscli grad", argv, peer=False, output=out)]
        for who, code, need in zip(writers, scripts, dists):
            if all(installed(d) for d in need):
                target = scratch / f"grad_{who.split()[0]}{tag}.{ext}"
                argv = [PY, "-c", script(code), str(src), str(target)]
                contenders.append(Contender(who, argv, output=target))
        title = f"per-row MSE gradient to {ext.upper()} (5M rows, {name})"
        cases.append(Case("grad", title, contenders, [src], check="grad"))
    return cases


MULTI = "mse,mae,huber,log_cosh,quantile"


def multi_cases(data: Path) -> list[Case]:
    """Five losses in one command against one loss, on the regression CSV and Parquet."""
    cases = []
    for name in ("regression.csv", "regression.parquet"):
        path = data / name
        one = losscli_argv("eval", str(path), "--loss", "mse", "--format", "json")
        five = losscli_argv("eval", str(path), "--loss", MULTI, "--format", "json")
        contenders = [
            Contender("losscli --loss mse", one, peer=False, loss="mse"),
            Contender(f"losscli --loss {MULTI}", five, peer=False, loss="mse"),
        ]
        title = f"five losses in one pass vs one ({name}, 5M rows)"
        cases.append(Case("multi", title, contenders, [path]))
    return cases


REPORT_LIMITS = {"time": 2.5, "rss": 2.0, "page_mib": 2.0}  # issue 18: report against eval


def report_case(data: Path, scratch: Path) -> Case:
    """`losscli report` against `losscli eval` on the same file (the losses inferred, so the
    same ones): the page's extra pass work, recommendations and charts."""
    path = data / "regression.csv"
    page = scratch / "report.html"
    contenders = [
        Contender(
            "losscli eval",
            losscli_argv("eval", str(path), "-q", "--format", "json"),
            peer=False,
            loss="mse",
        ),
        Contender(
            "losscli report",
            losscli_argv("report", str(path), "-o", str(page), "-q"),
            peer=False,
            output=page,
        ),
    ]
    title = "report vs eval (regression.csv, 5M rows, inferred losses)"
    return Case("report", title, contenders, [path], check="none")


def top_case(data: Path) -> Case:
    """`eval --top 10` against `eval`: the cost of keeping each loss's worst rows."""
    path = data / "regression.csv"
    plain = losscli_argv("eval", str(path), "-q", "--format", "json")
    contenders = [
        Contender("losscli eval", plain, peer=False, loss="mse"),
        Contender("losscli eval --top 10", [*plain, "--top", "10"], peer=False, loss="mse"),
    ]
    title = "eval --top 10 vs eval (regression.csv, 5M rows, inferred losses)"
    return Case("top", title, contenders, [path])


def pair_ratios(case: Case) -> tuple[float, float] | None:
    """(time, peak RSS) of a two-command case's second command over its first."""
    first, second = list(case.results.values())
    if first.ok and second.ok:
        return second.best / first.best, second.peak / first.peak
    return None


def big_case(data: Path, big: Path) -> Case:
    """losscli on the 5M-row and the 50M-row regression CSV: memory must not grow."""
    contenders = [
        Contender(
            f"losscli, {rows} rows",
            losscli_argv("eval", str(path), "--loss", "mse", "--format", "json"),
            peer=False,
            loss="mse",
        )
        for rows, path in (("5M", data / "regression.csv"), ("50M", big))
    ]
    size = big.stat().st_size / 2**30
    title = f"bounded memory: 5M vs 50M-row regression CSV ({size:.1f} GiB), MSE"
    return Case("50m", title, contenders, [data / "regression.csv", big], check="none")


SAMPLE = HERE.parent / "sample_data" / "regression.csv"  # 2,000 rows, shipped
# start-up commands that read data, and what they are measured against
DATA_STARTUP = {"losscli eval, 2,000-row sample": "import numpy, pyarrow, pyarrow.csv"}

STARTUP = (
    ("typer app --help", [PY, str(HERE / "typer_app.py"), "--help"], True),
    ("typer app hello", [PY, str(HERE / "typer_app.py"), "hello", "--name", "x"], True),
    ("losscli --help", losscli_argv("--help"), False),
    ("losscli explain huber", losscli_argv("explain", "huber"), False),
    ("losscli losses", losscli_argv("losses"), False),
    (
        "losscli recommend --task imbalanced",
        losscli_argv("recommend", "--task", "imbalanced"),
        False,
    ),
    ("import numpy, pyarrow, pyarrow.csv", [PY, "-c", "import numpy, pyarrow, pyarrow.csv"], True),
    (
        "losscli eval, 2,000-row sample",
        losscli_argv("eval", str(SAMPLE), "--loss", "mse"),
        False,
    ),
)


def startup_case(repeat: int) -> Case:
    """Light commands against a minimal two-command Typer app, best of many runs."""
    contenders = [Contender(name, argv, peer=peer) for name, argv, peer in STARTUP]
    return Case("startup", "start-up", contenders, check="none", repeat=repeat)


def heavy_imports(argv: list[str]) -> list[str]:
    """Which of numpy/pyarrow/pandas a light command imports (python -X importtime)."""
    if argv[0] != PY:  # the console script is a Python file: run it under -X importtime
        argv = [PY, *argv]
    _, _, code, _, stderr = spawn([PY, "-X", "importtime", *argv[1:]], wrap=False)
    found = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            module = line.rsplit("|", 1)[1].strip()
            if module.split(".")[0] in HEAVY:
                found.add(module.split(".")[0])
    return sorted(found)


# --------------------------------------------------------------------------- reporting


def fmt_value(case: Case, r: Result) -> str:
    if r.value is None:
        return "—"
    if case.check == "grad":
        return f"max rel. error {r.value:.1e}"
    return f"{r.value:.10g}"


def render(case: Case, repeat: int) -> str:
    """A Markdown table for one case, with losscli's ratios to its peers below it."""
    n = case.repeat or repeat
    lines = [
        f"### {case.title}",
        "",
        f"| contender | best of {n} (s) | median (s) | peak RSS (MiB) | value |",
        "|---|---:|---:|---:|---|",
    ]
    for r in case.results.values():
        name = r.name if r.peer else f"**{r.name}**"
        if r.ok:
            lines.append(
                f"| {name} | {r.best:.3f} | {r.median:.3f} | {r.peak:.0f} | {fmt_value(case, r)} |"
            )
        else:
            lines.append(f"| {name} | — | — | — | skipped/failed: {r.error} |")
    lines.append("")
    lines.extend(f"- {line}" for line in ratio_lines(case))
    lines.extend(f"- {note}" for note in case.notes)
    return "\n".join(lines)


def render_commands(case: Case) -> str:
    """The exact command of each contender; a `python -c` script as a code block."""
    lines = ["Commands:", ""]
    for c in case.contenders:
        if len(c.argv) > 2 and c.argv[1] == "-c":
            args = shlex.join(c.argv[3:])
            lines += [f"- {c.name}: `{c.argv[0]} -c SCRIPT {args}`", "", "  ```python"]
            lines += [f"  {line}" if line else "" for line in c.argv[2].splitlines()]
            lines += ["  ```"]
        else:
            lines.append(f"- {c.name}: `{shlex.join(c.argv)}`")
    return "\n".join(lines)


def peers_of(case: Case, floor: bool = True) -> list[Result]:
    """Successful peers of a case (without the pyarrow floor when floor is False)."""
    return [
        r for r in case.results.values() if r.ok and r.peer and (floor or "floor" not in r.name)
    ]


def ours(case: Case) -> Result | None:
    return next((r for r in case.results.values() if r.ok and not r.peer), None)


def ratio_lines(case: Case) -> list[str]:
    """losscli / fastest peer (time and RSS) and losscli / leanest peer (RSS)."""
    us = ours(case)
    if case.key == "multi":
        one, five = list(case.results.values())
        if one.ok and five.ok:
            return [
                f"{MULTI} / mse: time {five.best / one.best:.2f}×, RSS {five.peak / one.peak:.2f}×"
            ]
        return []
    if case.key == "50m":
        small, big = list(case.results.values())
        if small.ok and big.ok:
            return [
                f"50M / 5M: peak RSS {big.peak / small.peak:.2f}×, time {big.best / small.best:.2f}×"
            ]
        return []
    if case.key == "startup":
        return startup_ratios(case)
    if case.key in ("report", "top"):
        ratios = pair_ratios(case)
        if ratios is None:
            return []
        first, second = list(case.results.values())
        line = f"{second.name} / {first.name}: time **{ratios[0]:.2f}×**, RSS **{ratios[1]:.2f}×**"
        if second.output_bytes is not None:
            line += f"; page {second.output_bytes / 2**20:.2f} MiB ({second.output_bytes:,} bytes)"
        return [line]
    if us is None:
        return []
    lines = []
    for floor in (True, False):
        peers = peers_of(case, floor)
        if not peers or (not floor and len(peers) == len(peers_of(case))):
            continue
        fastest = min(peers, key=lambda r: r.best)
        leanest = min(peers, key=lambda r: r.peak)
        scope = "peers" if floor else "peers without the floor"
        lines.append(
            f"{scope}: losscli / fastest ({fastest.name}, {fastest.best:.2f} s): "
            f"time **{us.best / fastest.best:.2f}×**, RSS {us.peak / fastest.peak:.2f}× of its RSS; "
            f"losscli / leanest ({leanest.name}, {leanest.peak:.0f} MiB): RSS **{us.peak / leanest.peak:.2f}×**"
        )
    return lines


def startup_ratios(case: Case) -> list[str]:
    res = case.results
    lines = []
    app_help, app_cmd = res.get("typer app --help"), res.get("typer app hello")
    for r in res.values():
        if r.peer or not r.ok:
            continue
        base = app_help if r.name.endswith("--help") else app_cmd
        if r.name in DATA_STARTUP:
            base = res.get(DATA_STARTUP[r.name])
        if base and base.ok:
            lines.append(f"{r.name} / {base.name}: time **{r.best / base.best:.2f}×**")
    for name, found in case.imports.items():
        lines.append(
            f"{name} imports {', '.join(found) if found else 'none of numpy/pyarrow/pandas'}"
        )
    return lines


# --------------------------------------------------------------------------- targets


def target_rows(cases: list[Case]) -> list[tuple[str, str, str, str]]:
    """(target, measured, limit, met?) for each target of the speed issues the cases cover:
    every eval ≤ 1.0× the fastest peer (the pyarrow floor aside) at ≤ 0.5× its peak RSS;
    grad ≤ 1.0× polars at ≤ 0.4× its RSS; report ≤ 2.5× eval; the 2,000-row sample's eval
    ≤ 1.15× importing numpy and pyarrow; the light commands' start-up as before."""
    rows = []

    def add(label: str, value: float | None, limit: float, how: str = "≤") -> None:
        if value is None:
            rows.append((label, "—", f"{how} {limit:g}×", "n/a"))
            return
        met = value <= limit if how == "≤" else abs(value - 1) <= limit
        shown = f"{value:.3f}×"
        rows.append(
            (
                label,
                shown,
                f"{how} {limit:g}×" if how == "≤" else f"1 ± {limit:g}",
                "yes" if met else "**no**",
            )
        )

    for case in cases:
        us = ours(case)
        peers = peers_of(case, floor=False)
        short = case.title.split(" (")[0]
        if case.key in ("csv", "parquet") and us and peers:
            fastest = min(peers, key=lambda r: r.best)
            add(f"{short}: time / fastest peer ({fastest.name})", us.best / fastest.best, 1.0)
            add(f"{short}: RSS / fastest peer's ({fastest.name})", us.peak / fastest.peak, 0.5)
        elif case.key == "multi" and "csv" in case.title:
            one, five = list(case.results.values())
            if one.ok and five.ok:
                add("five losses / one loss, CSV (time)", five.best / one.best, 1.25)
        elif case.key == "grad" and us:
            polars = next((r for r in peers if r.name.startswith("polars")), None)
            short = case.title.replace("per-row MSE gradient", "grad")
            if polars:
                add(f"{short}: time / polars", us.best / polars.best, 1.0)
                add(f"{short}: RSS / polars'", us.peak / polars.peak, 0.4)
        elif case.key == "report":
            ratios = pair_ratios(case)
            limits = REPORT_LIMITS
            add("report / eval, 5M-row CSV (time)", ratios and ratios[0], limits["time"])
            add("report / eval, 5M-row CSV (peak RSS)", ratios and ratios[1], limits["rss"])
            page = list(case.results.values())[1].output_bytes
            rows.append(
                (
                    "report's page, 5M-row CSV",
                    "—" if page is None else f"{page / 2**20:.2f} MiB",
                    f"≤ {limits['page_mib']:g} MiB",
                    "n/a"
                    if page is None
                    else "yes"
                    if page <= limits["page_mib"] * 2**20
                    else "**no**",
                )
            )
        elif case.key == "50m":
            small, big = list(case.results.values())
            if small.ok and big.ok:
                add("50M-row CSV peak RSS / 5M-row", big.peak / small.peak, 0.10, how="±")
        elif case.key == "startup":
            res = case.results
            for r in res.values():
                if r.peer:
                    continue
                if r.name in DATA_STARTUP:
                    base, limit = res[DATA_STARTUP[r.name]], 1.15
                elif r.name.endswith("--help"):
                    base, limit = res["typer app --help"], 1.15
                else:
                    base, limit = res["typer app hello"], 2.0
                label = f"start-up: {r.name} / {base.name}"
                if not r.ok:
                    rows.append(
                        (label, f"skipped ({r.error.split(':')[0]})", f"≤ {limit:g}×", "n/a")
                    )
                elif base.ok:
                    add(label, r.best / base.best, limit)
            for name, found in case.imports.items():
                rows.append(
                    (
                        f"start-up: {name} imports no numpy/pyarrow/pandas",
                        ", ".join(found) or "none",
                        "none",
                        "yes" if not found else "**no**",
                    )
                )
    return rows


def render_targets(cases: list[Case]) -> str:
    rows = target_rows(cases)
    lines = [
        "### targets of the speed issues (this run)",
        "",
        "| target | measured | limit | met |",
        "|---|---:|---:|---|",
    ]
    lines.extend(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)
    return "\n".join(lines)


# --------------------------------------------------------------------------- machine


def machine() -> dict:
    """CPU, memory, interpreter and package versions (read from metadata, not imported)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    versions = {}
    for dist in VERSIONS:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": memory,
        "python": f"{platform.python_version()} ({PY})",
        "versions": versions,
    }


def render_machine(info: dict, args: argparse.Namespace, data: Path) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    return "\n".join(
        [
            "## losscli benchmarks",
            "",
            f"- machine: {info['platform']}; {info['cpus']} CPUs ({info['cpu']}); RAM {info['memory']}",
            f"- python {info['python']}",
            f"- versions: {versions}",
            f"- each contender is a fresh process; best and median of {args.repeat} runs "
            f"(start-up: best of {args.startup_repeat}), warm page cache; peak RSS = the child's "
            "ru_maxrss (wait4 in a tiny wrapper process), median of the runs",
            f"- RSS floor (the measuring wrapper running `true`): {rss_floor():.1f} MiB; before "
            f"each run the runner waits up to {args.idle_wait:g} s for other work to use "
            f"< {BUSY:.0%} of the CPUs",
            f"- data: {data}",
        ]
    )


# --------------------------------------------------------------------------- main


def generate(data: Path, rows_50m: bool = False) -> None:
    """Run generate.py in a subprocess (the runner stays free of numpy and pyarrow)."""
    argv = [PY, str(HERE / "generate.py"), str(data)] + (["--rows-50m"] if rows_50m else [])
    _, _, code, stdout, stderr = spawn(argv, wrap=False)
    print(stdout, end="", file=sys.stderr)
    if code != 0:
        raise SystemExit(f"generate.py failed:\n{stderr}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases", default=",".join(ALL_CASES), help="comma list of: " + ", ".join(ALL_CASES)
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender (default 3)")
    parser.add_argument("--startup-repeat", type=int, default=20, help="runs per start-up command")
    parser.add_argument(
        "--data", type=Path, help="data directory: reuse its files, generate missing ones"
    )
    parser.add_argument(
        "--keep-50m", action="store_true", help="keep a 50M-row CSV this run generated"
    )
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=60.0,
        help="before each run, wait up to this many seconds for other work to leave the CPUs idle",
    )
    parser.add_argument("--json", type=Path, help="write the raw results to this file")
    parser.add_argument("--show-commands", action="store_true", help="print every command run")
    args = parser.parse_args(argv)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(args.cases) - set(ALL_CASES)
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    return args


def build_cases(args: argparse.Namespace, data: Path, scratch: Path) -> list[Case]:
    cases: list[Case] = []
    if "csv" in args.cases:
        cases += eval_cases(data, "csv")
    if "parquet" in args.cases:
        cases += eval_cases(data, "parquet")
    if "grad" in args.cases:
        cases += grad_cases(data, scratch)
    if "multi" in args.cases:
        cases += multi_cases(data)
    if "report" in args.cases:
        cases.append(report_case(data, scratch))
    if "top" in args.cases:
        cases.append(top_case(data))
    if "50m" in args.cases:
        generate(data, rows_50m=True)
        cases.append(big_case(data, data / "regression_50m.csv"))
    if "startup" in args.cases:
        cases.append(startup_case(args.startup_repeat))
    return cases


def to_json(info: dict, cases: list[Case]) -> dict:
    return {
        "machine": info,
        "cases": [
            {
                "key": c.key,
                "title": c.title,
                "notes": c.notes,
                "results": [vars(r) for r in c.results.values()],
                "imports": c.imports,
            }
            for c in cases
        ],
        "targets": [
            dict(zip(("target", "measured", "limit", "met"), row)) for row in target_rows(cases)
        ],
    }


def compile_bytecode() -> None:
    """Byte-compile losscli as `pip install` does, so no run pays for compiling it.

    An editable install under PYTHONDONTWRITEBYTECODE would otherwise compile every
    module of losscli on every start (the peers' packages come with bytecode).
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("losscli")
    if spec and spec.submodule_search_locations:
        for where in spec.submodule_search_locations:
            compileall.compile_dir(where, quiet=1)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    temp_data = args.data is None
    data = (args.data or Path(tempfile.mkdtemp(prefix="lossbench-"))).resolve()
    scratch = Path(tempfile.mkdtemp(prefix="lossbench-out-"))
    if args.json:
        args.json = args.json.resolve()
    # Every command runs in an empty directory: a losscli.toml or pyproject.toml where the
    # runner was started would otherwise be read (and timed) by each losscli command. A
    # checkout run without installing (`python -m losscli`) is then found by PYTHONPATH.
    home = os.getcwd()
    if not installed("losscli"):
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(HERE.parent), os.environ.get("PYTHONPATH", "")) if p
        )
    os.chdir(scratch)
    big = data / "regression_50m.csv"
    big_existed = big.exists()
    try:
        generate(data)
        compile_bytecode()
        info = machine()
        print(render_machine(info, args, data))
        cases = build_cases(args, data, scratch)
        for case in cases:
            run_case(case, args.repeat, args.idle_wait)
            if case.key == "startup":
                case.imports = {
                    r.name: heavy_imports(r.argv)
                    for r in case.results.values()
                    if not r.peer and r.ok and r.name not in DATA_STARTUP
                }
            if case.key == "50m" and not (big_existed or args.keep_50m):
                big.unlink(missing_ok=True)
            print()
            print(render(case, args.repeat), flush=True)
            if args.show_commands:
                print()
                print(render_commands(case))
        print()
        print(render_targets(cases))
        if args.json:
            args.json.write_text(json.dumps(to_json(info, cases), indent=2, default=str))
    finally:
        os.chdir(home)
        shutil.rmtree(scratch, ignore_errors=True)
        if temp_data:
            shutil.rmtree(data, ignore_errors=True)
        elif not (big_existed or args.keep_50m):
            big.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
