"""Large inputs are read in parallel: a plain CSV file's chunks are parsed ahead on two
threads (the eval pass included), a Parquet file's runs of row groups are read by threads.
Same results as one reader, deterministic, and exact rows in errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import eval_json, parquet_in_parts

import losscli.engine.passes
import losscli.io.csv_ranges
import losscli.io.csv_reader
import losscli.io.parquet_reader
import losscli.io.sources
from losscli.cli.commands import run

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture
def chunks(monkeypatch):
    """Read every plain CSV in chunks of ``size`` bytes parsed ahead, however small the
    file; record the size of each chunk parsed."""
    parsed: list[int] = []
    parse = losscli.io.csv_reader._parse_chunk
    monkeypatch.setattr(losscli.io.csv_ranges, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(losscli.io.csv_ranges, "usable_cpus", lambda: 2)
    monkeypatch.setattr(
        losscli.io.csv_reader, "_parse_chunk", lambda *a: parsed.append(len(a[-1])) or parse(*a)
    )

    def use(size: int) -> list[int]:
        monkeypatch.setattr(losscli.io.csv_ranges, "CSV_CHUNK", size)
        monkeypatch.setattr(losscli.io.csv_ranges, "CSV_CHUNK_MAX", size)
        parsed.clear()
        return parsed

    return use


CASES = [
    ("regression.csv", ["--loss", "mse,rmse,huber,0.7*mse+0.3*mae", "--group", "segment"]),
    ("regression.csv", ["--loss", "mae,quantile", "--weight", "weight", "--gradients"]),
    ("regression.csv", ["--loss", "mse", "--reduction", "median"]),
    ("multiclass.csv", ["--loss", "cross_entropy,focal", "--gradients"]),
    ("segmentation.csv", ["--loss", "dice,iou", "--group", "image_id"]),
    ("imbalanced.csv", []),
]


@pytest.mark.parametrize("sample, args", CASES, ids=lambda c: c if isinstance(c, str) else None)
@pytest.mark.parametrize("size", [4096, 20_000])
def test_chunks_give_the_serial_results(capsys, chunks, sample, args, size):
    serial = eval_json(capsys, SAMPLES / sample, *args)
    parsed = chunks(size)
    chunked = eval_json(capsys, SAMPLES / sample, *args)
    assert len(parsed) >= (SAMPLES / sample).stat().st_size // size  # it really was chunked
    assert chunked["input"] == serial["input"]
    assert [
        {k: v for k, v in r.items() if k not in ("value", "gradient")} for r in chunked["results"]
    ] == [{k: v for k, v in r.items() if k not in ("value", "gradient")} for r in serial["results"]]
    for a, b in zip(chunked["results"], serial["results"]):
        assert a["value"] == pytest.approx(b["value"], rel=1e-12, abs=1e-300)
        for key in a.get("gradient", {}):
            assert a["gradient"][key] == pytest.approx(b["gradient"][key], rel=1e-9, abs=1e-15)
    again = eval_json(capsys, SAMPLES / sample, *args)
    assert again == chunked  # the same bytes run after run, whatever the thread timing


@pytest.mark.parametrize(
    "sample, args",
    [
        ("multiclass.csv", ["--loss", "cross_entropy,focal", "--per-class", "--bootstrap", "200"]),
        ("regression.csv", ["--loss", "mse,mae", "--group", "segment", "--bootstrap", "150"]),
    ],
    ids=["per_class_bootstrap", "groups_bootstrap"],
)
def test_chunks_give_the_serial_class_rows_and_intervals(capsys, chunks, sample, args):
    """Rows keep their numbers across chunks: the bootstrap units (row mod 4096) and so
    the intervals are the serial read's."""
    serial = eval_json(capsys, SAMPLES / sample, *args)
    parsed = chunks(4096)
    chunked = eval_json(capsys, SAMPLES / sample, *args)
    assert len(parsed) > 10
    assert chunked["input"] == serial["input"]
    assert len(chunked["results"]) == len(serial["results"])
    for a, b in zip(chunked["results"], serial["results"]):
        assert (a["loss"], a["group"], a.get("class"), a["n"]) == (
            b["loss"], b["group"], b.get("class"), b["n"],
        )  # fmt: skip
        for key in ("value", "ci_low", "ci_high"):
            assert a[key] == pytest.approx(b[key], rel=1e-12), key


def test_files_below_the_threshold_compressed_or_stdin_are_not_chunked(tmp_path):
    chunkable = losscli.io.csv_ranges.chunkable
    assert not chunkable(losscli.io.sources.detect_format(str(SAMPLES / "regression.csv")))
    gz = tmp_path / "r.csv.gz"
    gz.write_bytes(b"")
    assert not chunkable(losscli.io.sources.detect_format(str(gz)))
    assert not chunkable(losscli.io.sources.detect_format("-"))


@pytest.mark.parametrize("first_block", [4096, 1 << 20])
def test_a_quoted_field_anywhere_gives_the_serial_results(
    capsys, chunks, tmp_path, monkeypatch, first_block
):
    monkeypatch.setattr(losscli.io.sources, "SNIFF_BYTES", first_block)
    path = tmp_path / "quoted.csv"
    lines = [f"{i % 3},{(i % 5) / 4},s{i % 4}" for i in range(3000)]
    lines[2500] = '1,0.5,"north,\nwest"'  # a newline inside a quoted field, late in the file
    path.write_text("y_true,y_pred,segment\n" + "\n".join(lines) + "\n")
    serial = eval_json(capsys, path, "--loss", "mse", "--group", "segment")
    parsed = chunks(4096)
    chunked = eval_json(capsys, path, "--loss", "mse", "--group", "segment")
    # Past the first block, the chunks before the quote were parsed ahead and the rest
    # read serially; within it, the header's read saw the quoted line break and the file
    # was read by one reader from the start.
    assert bool(parsed) == (first_block < path.stat().st_size)
    assert chunked == serial
    assert any(r["group"] == "north,\nwest" for r in serial["results"])


def test_errors_in_a_later_chunk_name_the_exact_row(capsys, chunks, tmp_path):
    path = tmp_path / "bad.csv"
    rng = np.random.default_rng(0)
    y = rng.normal(size=4000)
    lines = [f"{a:.6f},{a + 0.1:.6f}" for a in y]
    lines[3456] = f"{y[3456]:.6f},nan"
    path.write_text("y_true,y_pred\n" + "\n".join(lines) + "\n")
    parsed = chunks(4096)
    code = run(["eval", str(path), "--loss", "mse"])
    _, err = capsys.readouterr()
    assert code == 2 and len(parsed) > 10
    assert err.splitlines()[0] == (
        f"error: {path}: column 'y_pred' has 1 empty, NaN or infinite cell(s), first at row(s) 3456 "
        "(line 3458)"
    )


def test_tsv_files_are_chunked_too(capsys, chunks, tmp_path):
    tsv = tmp_path / "r.tsv"
    shutil.copy(SAMPLES / "regression.csv", tmp_path / "r.csv")
    tsv.write_text((tmp_path / "r.csv").read_text().replace(",", "\t"))
    serial = eval_json(capsys, tmp_path / "r.csv", "--loss", "mse,mae")
    parsed = chunks(4096)
    got = eval_json(capsys, tsv, "--loss", "mse,mae")
    assert len(parsed) > 10
    assert [r["value"] for r in got["results"]] == pytest.approx(
        [r["value"] for r in serial["results"]], rel=1e-12
    )


# ---- Parquet: runs of row groups -------------------------------------------------------


@pytest.fixture
def row_group_parts(monkeypatch):
    return parquet_in_parts(monkeypatch)


def _parquet_copy(tmp_path: Path, sample: str, row_group_size: int) -> Path:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    out = tmp_path / (Path(sample).stem + ".parquet")
    pq.write_table(pcsv.read_csv(SAMPLES / sample), out, row_group_size=row_group_size)
    return out


@pytest.mark.parametrize(
    "sample, args",
    [
        ("regression.csv", ["--loss", "mse,rmse,huber", "--group", "segment", "--gradients"]),
        ("regression.csv", ["--loss", "mae", "--weight", "weight"]),
        ("multiclass.csv", ["--loss", "cross_entropy,focal"]),
        ("segmentation.csv", ["--loss", "dice", "--group", "image_id"]),
    ],
    ids=["groups", "weights", "multiclass", "dice"],
)
def test_row_group_runs_give_the_serial_results(capsys, monkeypatch, tmp_path, sample, args):
    path = _parquet_copy(tmp_path, sample, 300)
    serial = eval_json(capsys, path, *args)
    made = parquet_in_parts(monkeypatch)
    parallel = eval_json(capsys, path, *args)
    assert made and len(made[0]) == 2
    assert parallel["input"] == serial["input"]
    for a, b in zip(parallel["results"], serial["results"], strict=True):
        assert (a["loss"], a["group"], a["n"]) == (b["loss"], b["group"], b["n"])
        assert a["value"] == pytest.approx(b["value"], rel=1e-12)


@pytest.mark.parametrize(
    "sample, args",
    [
        ("multiclass.csv", ["--loss", "cross_entropy,focal", "--per-class", "--bootstrap", "200"]),
        ("regression.csv", ["--loss", "mse,mae", "--group", "segment", "--bootstrap", "150"]),
        ("regression.csv", ["--loss", "mse", "--dropna", "--top", "5", "--group", "segment"]),
    ],
    ids=["per_class_bootstrap", "groups_bootstrap", "dropna_top"],
)
def test_row_group_runs_give_the_serial_class_rows_intervals_and_top_rows(
    capsys, monkeypatch, tmp_path, sample, args
):
    """Each run numbers its rows by their place in the file: merged, the bootstrap units
    (row mod 4096), the intervals and the worst rows are the serial read's, with rows
    dropped by --dropna too."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = _parquet_copy(tmp_path, sample, 300)
    if "--dropna" in args:  # a few empty predictions, in both runs
        table = pq.read_table(path)
        pred = table.column("y_pred").to_numpy().copy()
        mask = np.zeros(len(pred), bool)
        mask[[7, 400, 1500, 1999]] = True
        column = pa.array(pred, mask=mask)
        table = table.set_column(table.schema.get_field_index("y_pred"), "y_pred", column)
        pq.write_table(table, path, row_group_size=300)
    serial = eval_json(capsys, path, *args)
    made = parquet_in_parts(monkeypatch)
    parallel = eval_json(capsys, path, *args)
    assert made and len(made[0]) == 2
    assert parallel["input"] == serial["input"]
    assert parallel.get("top_rows") == serial.get("top_rows")
    assert len(parallel["results"]) == len(serial["results"])
    for a, b in zip(parallel["results"], serial["results"]):
        assert (a["loss"], a["group"], a.get("class"), a["n"]) == (
            b["loss"], b["group"], b.get("class"), b["n"],
        )  # fmt: skip
        assert a.keys() == b.keys()
        for key in ("value", "ci_low", "ci_high"):
            if key in b:
                assert a[key] == pytest.approx(b[key], rel=1e-12), key


def test_row_group_runs_split_rows_evenly_and_number_them(tmp_path):
    path = _parquet_copy(tmp_path, "regression.csv", 300)  # 2000 rows: 6 groups of 300, 200
    source = losscli.io.sources.detect_format(str(path))
    old = losscli.io.parquet_reader.PARALLEL_MIN_ROWS
    losscli.io.parquet_reader.PARALLEL_MIN_ROWS = 1
    try:
        parts = losscli.io.parquet_reader.split_row_groups(source, 2)
        assert losscli.io.parquet_reader.split_row_groups(source, 8) is None  # 7 row groups only
    finally:
        losscli.io.parquet_reader.PARALLEL_MIN_ROWS = old
    assert [p.pieces for p in parts] == [((str(path), (0, 1, 2, 3)),), ((str(path), (4, 5, 6)),)]
    assert [p.row0 for p in parts] == [0, 1200]
    # 2000 rows: under the threshold
    assert losscli.io.parquet_reader.split_row_groups(source, 2) is None


def test_an_error_in_a_later_run_of_row_groups_names_the_exact_row(
    capsys, row_group_parts, tmp_path
):
    import pyarrow as pa
    import pyarrow.parquet as pq

    y = np.arange(3000, dtype=float)
    p = y + 0.5
    p[2345] = np.nan
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"y_true": y, "y_pred": p}), path, row_group_size=500)
    code = run(["eval", str(path), "--loss", "mse"])
    _, err = capsys.readouterr()
    assert code == 2 and row_group_parts
    assert err.splitlines()[0] == (
        f"error: {path}: column 'y_pred' has 1 empty, NaN or infinite cell(s), first at row(s) 2345"
    )


# ---- prefetch: Parquet batches read ahead by a thread -------------------------------------


def test_prefetch_yields_the_same_items_in_order_and_raises_where_the_source_did():
    from losscli.io.batches import prefetch

    assert list(prefetch(iter(range(100)), depth=2)) == list(range(100))

    def failing():
        yield 1
        yield 2
        raise ValueError("broken at the third")

    got = []
    with pytest.raises(ValueError, match="third"):
        for item in prefetch(failing()):
            got.append(item)
    assert got == [1, 2]


def test_prefetch_stops_its_thread_when_the_reader_stops_early():
    import threading

    from losscli.io.batches import prefetch

    batches = prefetch(iter(range(10_000)), depth=2)
    assert next(batches) == 0
    batches.close()
    assert not any(t.name == "losscli-prefetch" for t in threading.enumerate())


def test_each_part_is_named_for_the_progress_bar(tmp_path):
    path = _parquet_copy(tmp_path, "regression.csv", 300)
    old = losscli.io.parquet_reader.PARALLEL_MIN_ROWS
    losscli.io.parquet_reader.PARALLEL_MIN_ROWS = 1
    try:
        parts = losscli.io.parquet_reader.split_row_groups(
            losscli.io.sources.detect_format(str(path)), 3
        )
    finally:
        losscli.io.parquet_reader.PARALLEL_MIN_ROWS = old
    assert [p.part for p in parts] == ["1/3", "2/3", "3/3"]
    assert all(p.name == str(path) for p in parts)  # errors still name the file itself


@pytest.fixture
def read_leads(monkeypatch) -> list:
    """Every ReadLead made, each recording the most blocks it let Arrow read ahead."""
    leads: list = []

    class Recording(losscli.io.csv_ranges.ReadLead):
        def __init__(self, lead: int, patience: float = 0.5) -> None:
            super().__init__(lead, patience)
            self.ahead = 0
            leads.append(self)

        def before_read(self) -> None:
            super().before_read()
            self.ahead = max(self.ahead, self._reads - self._taken)

    monkeypatch.setattr(losscli.io.csv_ranges, "ReadLead", Recording)
    return leads


def write_pairs(path: Path, rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A y_true,y_pred CSV of ``rows`` normal pairs at 6 decimals; the rounded values."""
    rng = np.random.default_rng(seed)
    y, p = rng.normal(size=rows), rng.normal(size=rows)
    path.write_text("y_true,y_pred\n" + "".join(f"{a:.6f},{b:.6f}\n" for a, b in zip(y, p)))
    return np.round(y, 6), np.round(p, 6)


def test_a_serial_read_of_a_file_stays_a_few_blocks_ahead_too(
    capsys, monkeypatch, tmp_path, read_leads
):
    path = tmp_path / "serial.csv"
    y, p = write_pairs(path, 30_000, seed=4)
    monkeypatch.setattr(losscli.io.csv_reader, "CSV_BLOCK", 1 << 12)
    got = eval_json(capsys, path, "--loss", "mse")
    assert len(read_leads) == 1 and read_leads[0]._reads > 40
    assert read_leads[0].lead == losscli.io.csv_ranges.CSV_READ_LEAD
    assert read_leads[0].ahead <= losscli.io.csv_ranges.CSV_READ_LEAD
    expected = float(np.mean((p - y) ** 2))
    assert got["results"][0]["value"] == pytest.approx(expected, rel=1e-9)
    assert got["results"][0]["n"] == 30_000


def test_read_lead_waits_for_a_taken_batch():
    import threading
    import time

    lead = losscli.io.csv_ranges.ReadLead(1, patience=5.0)
    lead.before_read()
    done = threading.Event()

    def second_read() -> None:
        lead.before_read()  # one block ahead already: waits for taken()
        done.set()

    reader = threading.Thread(target=second_read)
    reader.start()
    time.sleep(0.05)
    assert not done.is_set()
    lead.taken()
    reader.join(timeout=5)
    assert done.is_set() and lead.lead == 1


def test_read_lead_lets_go_for_good_once_a_wait_runs_out():
    import time

    lead = losscli.io.csv_ranges.ReadLead(1, patience=0.05)
    lead.before_read()
    start = time.perf_counter()
    lead.before_read()  # nobody takes a batch: after 0.05 s the limit is dropped
    assert time.perf_counter() - start >= 0.04
    assert lead.lead == 0
    start = time.perf_counter()
    lead.before_read()
    assert time.perf_counter() - start < 0.04
