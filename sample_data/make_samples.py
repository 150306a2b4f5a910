"""Deterministic generator for the sample prediction files in this directory.

Run ``python sample_data/make_samples.py`` to (re)write every CSV file, plus Parquet
copies of the larger ones, next to this script. Every file comes from
``numpy.random.default_rng`` with a fixed per-file seed and is written with a fixed
number format, so two runs produce byte-identical CSV files (tests/test_sample_data.py
checks this). Nothing depends on the clock or the environment.

Number formats:

* plain floats: 6 significant digits (``f"{x:.6g}"``), some compact files use fewer;
* probability vectors that must sum to 1 (multiclass, distributions, softmax maps) are
  quantised to integer multiples of 1e-6 whose sum is exactly 1e6, and written as exact
  decimals, so every row sums to 1 up to float parsing error (~1e-16).

Import and call ``generate(out_dir)`` to write the files elsewhere.
"""

from __future__ import annotations

import csv
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# Files that also get a Parquet copy (same stem, ``.parquet``).
PARQUET_STEMS = ("regression", "binary", "imbalanced", "multiclass", "segmentation")

# A column is (name, values as strings, parquet type: "float" | "int" | "str").
Column = tuple[str, list[str], str]


# --------------------------------------------------------------------------- formats


def _g(x: float, sig: int = 6) -> str:
    """Float with ``sig`` significant digits; never ``-0``."""
    s = f"{float(x):.{sig}g}"
    return "0" if s in ("-0", "0") else s


def _fixed(x: float, decimals: int) -> str:
    """Float rounded to ``decimals`` decimals, trailing zeros stripped; never ``-0``."""
    s = f"{float(x):.{decimals}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "0") else s


def fcol(values: np.ndarray, sig: int = 6) -> list[str]:
    return [_g(v, sig) for v in np.asarray(values, dtype=float)]


def fixcol(values: np.ndarray, decimals: int) -> list[str]:
    return [_fixed(v, decimals) for v in np.asarray(values, dtype=float)]


def icol(values: np.ndarray) -> list[str]:
    return [str(int(v)) for v in np.asarray(values)]


def _micro_str(q: int) -> str:
    """An integer number of millionths as an exact decimal string (0.25, 1, 0.000013)."""
    s = f"{q // 1_000_000}.{q % 1_000_000:06d}".rstrip("0").rstrip(".")
    return s


def simplex_cols(probs: np.ndarray, names: Sequence[str], positive: bool = True) -> list[Column]:
    """Quantise rows of ``probs`` to millionths summing to exactly 1e6.

    With ``positive`` every entry is at least 1e-6 (no probability rounds to zero);
    without it zeros stay exactly zero. The rounding residual goes to each row's
    largest entry.
    """
    probs = np.asarray(probs, dtype=float)
    probs = probs / probs.sum(axis=1, keepdims=True)
    q = np.rint(probs * 1_000_000).astype(np.int64)
    if positive:
        q = np.maximum(q, 1)
    residual = 1_000_000 - q.sum(axis=1)
    rows = np.arange(len(q))
    q[rows, np.argmax(q, axis=1)] += residual
    assert (q.sum(axis=1) == 1_000_000).all()
    return [(name, [_micro_str(int(v)) for v in q[:, j]], "float") for j, name in enumerate(names)]


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def prob_col(p: np.ndarray, sig: int = 6, lo: float = 1e-5) -> list[str]:
    """Probabilities strictly inside (0, 1) after formatting."""
    return fcol(np.clip(p, lo, 1.0 - lo), sig)


# --------------------------------------------------------------------------- files


def _regression(seed: int, outliers: bool) -> list[Column]:
    rng = np.random.default_rng(seed)
    n = 2000
    scale = 0.5  # typical residual scale
    x = rng.uniform(0.0, 10.0, n)
    segments = np.array(["north", "south", "east", "west"])
    seg = rng.integers(0, 4, n)
    seg_shift = np.array([0.0, 1.0, -0.5, 0.5])[seg]
    y_true = 3.0 * np.sin(x) + 0.6 * x + seg_shift + rng.normal(0.0, 0.4, n)
    resid = rng.normal(0.0, scale, n)
    if outliers:
        k = int(round(0.04 * n))
        idx = rng.choice(n, size=k, replace=False)
        sign = np.where(rng.random(k) < 0.5, -1.0, 1.0)
        resid[idx] = sign * rng.uniform(10.0, 20.0, k) * scale
    y_pred = y_true + resid
    weight = rng.uniform(0.5, 2.0, n)
    return [
        ("y_true", fcol(y_true), "float"),
        ("y_pred", fcol(y_pred), "float"),
        ("segment", [str(s) for s in segments[seg]], "str"),
        ("weight", fcol(weight, 4), "float"),
    ]


def regression() -> list[Column]:
    return _regression(seed=101, outliers=True)


def _candidate(seed: int, noise: float) -> list[Column]:
    """regression.csv's rows and targets with the predictions moved by N(0, noise²)."""
    cols = regression()
    rng = np.random.default_rng(seed)
    y_pred = np.array(cols[1][1], dtype=float)
    moved = y_pred + rng.normal(0.0, noise, len(y_pred))
    return [cols[0], ("y_pred", fcol(moved), "float"), *cols[2:]]


def regression_worse() -> list[Column]:
    """A candidate model that got worse on purpose: extra noise of scale 0.5."""
    return _candidate(seed=111, noise=0.5)


def regression_retrained() -> list[Column]:
    """A candidate within tolerance: the baseline's predictions with tiny jitter."""
    return _candidate(seed=112, noise=0.02)


def regression_clean() -> list[Column]:
    return _regression(seed=102, outliers=False)


def regression_var() -> list[Column]:
    rng = np.random.default_rng(103)
    n = 1000
    x = rng.uniform(-3.0, 3.0, n)
    sigma = 0.2 + 0.5 * np.abs(x)  # heteroscedastic noise
    mean = 2.0 + 1.5 * x - 0.3 * x**2
    y_true = mean + rng.normal(0.0, 1.0, n) * sigma
    y_pred = mean + rng.normal(0.0, 0.1, n)
    var = (sigma * np.exp(rng.normal(0.0, 0.15, n))) ** 2  # roughly right
    return [
        ("y_true", fcol(y_true), "float"),
        ("y_pred", fcol(y_pred), "float"),
        ("var", fcol(var), "float"),
    ]


def counts() -> list[Column]:
    rng = np.random.default_rng(104)
    n = 2000
    x = rng.uniform(0.0, 6.0, n)
    rate = np.exp(0.8 + 0.9 * np.sin(x) + 0.15 * x)
    y_true = rng.poisson(rate)
    y_pred_s = fcol(rate * np.exp(rng.normal(0.0, 0.1, n)))
    log_rate = [_g(math.log(float(s))) for s in y_pred_s]  # log of the written y_pred
    return [
        ("y_true", icol(y_true), "int"),
        ("y_pred", y_pred_s, "float"),
        ("log_rate", log_rate, "float"),
    ]


def quantile() -> list[Column]:
    rng = np.random.default_rng(105)
    n = 1000
    x = rng.uniform(0.0, 10.0, n)
    s = 0.5 + 0.1 * x
    mean = 10.0 + 2.0 * np.cos(x) + 0.5 * x
    y_true = mean + rng.normal(0.0, 1.0, n) * s
    z90 = 1.2815515655446004  # standard normal 0.9-quantile
    y_pred = mean + z90 * s + rng.normal(0.0, 0.05, n)
    return [("y_true", fcol(y_true), "float"), ("y_pred", fcol(y_pred), "float")]


def binary() -> list[Column]:
    rng = np.random.default_rng(106)
    n = 3000
    logit = rng.normal(-0.55, 1.8, n)
    y_true = (rng.random(n) < sigmoid(logit)).astype(int)
    y_pred = sigmoid(0.9 * logit + rng.normal(0.0, 0.3, n))  # calibrated-ish
    return [("y_true", icol(y_true), "int"), ("y_pred", prob_col(y_pred), "float")]


def binary_logits() -> list[Column]:
    rng = np.random.default_rng(107)
    n = 3000
    latent = rng.normal(-0.3, 4.0, n)  # ~5% beyond +-8
    y_true = (rng.random(n) < sigmoid(latent)).astype(int)
    logit = latent + rng.normal(0.0, 0.5, n)
    return [("y_true", icol(y_true), "int"), ("logit", fcol(logit), "float")]


def imbalanced() -> list[Column]:
    rng = np.random.default_rng(108)
    n = 4000
    seg = np.where(rng.random(n) < 0.6, "web", "app")
    base = np.where(seg == "web", 0.04, 0.065)
    y_true = (rng.random(n) < base).astype(int)
    logit = -3.2 + 2.6 * y_true + rng.normal(0.0, 1.1, n)
    return [
        ("y_true", icol(y_true), "int"),
        ("y_pred", prob_col(sigmoid(logit)), "float"),
        ("segment", [str(s) for s in seg], "str"),
    ]


def multiclass() -> list[Column]:
    rng = np.random.default_rng(109)
    n = 2000
    names = ["cat", "dog", "bird"]
    y = rng.choice(3, size=n, p=[0.45, 0.35, 0.20])
    logits = 2.0 * np.eye(3)[y] + rng.normal(0.0, 1.0, (n, 3))
    probs = softmax(logits)
    return [
        ("label", [names[k] for k in y], "str"),
        *simplex_cols(probs, [f"prob_{c}" for c in names]),
    ]


def multiclass_logits() -> list[Column]:
    rng = np.random.default_rng(110)
    n, k = 2000, 5
    y = rng.integers(0, k, n)
    logits = 2.5 * np.eye(k)[y] + rng.normal(0.0, 1.2, (n, k))
    return [
        ("y_true", icol(y), "int"),
        *[(f"logit_{j}", fcol(logits[:, j], 4), "float") for j in range(k)],
    ]


def multilabel() -> list[Column]:
    rng = np.random.default_rng(111)
    n = 1500
    labels = ["action", "comedy", "drama"]
    prevalence = [0.30, 0.25, 0.45]
    targets, preds = [], []
    for prev in prevalence:
        y = (rng.random(n) < prev).astype(int)
        logit = math.log(prev / (1 - prev)) + 2.4 * (y - prev) + rng.normal(0.0, 1.0, n)
        targets.append(y)
        preds.append(sigmoid(logit))
    return [
        *[(f"y_{lab}", icol(t), "int") for lab, t in zip(labels, targets)],
        *[(f"p_{lab}", prob_col(p), "float") for lab, p in zip(labels, preds)],
    ]


def _blob(size: int, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    """Signed 'inside-ness' of an axis-aligned ellipse: > 0 inside, < 0 outside."""
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    return 1.0 - np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)


def segmentation() -> list[Column]:
    rng = np.random.default_rng(112)
    n_img, size = 8, 32
    empty = 5  # img_5 has an empty mask
    ids, y_true, y_pred = [], [], []
    for i in range(n_img):
        cy, cx = rng.uniform(10.0, 22.0, 2)
        ry, rx = rng.uniform(6.0, 9.0, 2)
        inside = _blob(size, cy, cx, ry, rx)
        mask = (inside > 0).astype(int)
        # prediction: a soft blob with a slightly shifted centre and radius
        pin = _blob(
            size,
            cy + rng.normal(0, 1.0),
            cx + rng.normal(0, 1.0),
            ry * rng.uniform(0.85, 1.15),
            rx * rng.uniform(0.85, 1.15),
        )
        logit = 8.0 * pin + rng.normal(0.0, 0.6, (size, size))
        if i == empty:
            mask[:] = 0
            logit = logit - 7.0  # only a faint false positive where a blob would be
        ids += [f"img_{i}"] * (size * size)
        y_true.append(mask.ravel())
        y_pred.append(sigmoid(logit).ravel())
    return [
        ("image_id", ids, "str"),
        ("y_true", icol(np.concatenate(y_true)), "int"),
        ("y_pred", prob_col(np.concatenate(y_pred), sig=4, lo=1e-4), "float"),
    ]


def segmentation_multiclass() -> list[Column]:
    rng = np.random.default_rng(113)
    n_img, size, k = 6, 16, 3
    ids, labels, probs = [], [], []
    for i in range(n_img):
        a = _blob(size, *rng.uniform(4.0, 12.0, 2), *rng.uniform(3.0, 5.0, 2))
        b = _blob(size, *rng.uniform(4.0, 12.0, 2), *rng.uniform(2.5, 4.0, 2))
        cls = np.zeros((size, size), dtype=int)
        cls[a > 0] = 1
        cls[b > 0] = 2  # class 2 drawn on top
        logits = np.stack(
            [np.full((size, size), 0.0), 6.0 * a, 6.0 * b + 0.5 * (b > 0)], axis=-1
        ).reshape(-1, k)
        logits = logits + rng.normal(0.0, 0.7, logits.shape)
        ids += [f"img_{i}"] * (size * size)
        labels.append(cls.ravel())
        probs.append(softmax(logits))
    return [
        ("image_id", ids, "str"),
        ("y_true", icol(np.concatenate(labels)), "int"),
        *simplex_cols(np.concatenate(probs), [f"p_{j}" for j in range(k)]),
    ]


def similarity() -> list[Column]:
    rng = np.random.default_rng(114)
    n = 1500
    y = (rng.random(n) < 0.5).astype(int)
    dist = np.where(y == 1, rng.gamma(2.0, 0.25, n), rng.gamma(5.0, 0.4, n))
    return [("y_true", icol(y), "int"), ("distance", fcol(dist), "float")]


def triplets() -> list[Column]:
    rng = np.random.default_rng(115)
    n = 1500
    d_ap = rng.gamma(2.0, 0.3, n)
    d_an = np.abs(d_ap + rng.normal(1.8, 0.7, n))  # ~13% violate margin 1
    return [("d_ap", fcol(d_ap), "float"), ("d_an", fcol(d_an), "float")]


def triplet_embeddings() -> list[Column]:
    rng = np.random.default_rng(116)
    n, d = 500, 4
    anchor = rng.normal(0.0, 1.0, (n, d))
    positive = anchor + rng.normal(0.0, 0.3, (n, d))
    hard = rng.random(n) < 0.2  # hard negatives lie close to the anchor
    negative = np.where(
        hard[:, None],
        anchor + rng.normal(0.0, 0.5, (n, d)),
        rng.normal(0.0, 1.0, (n, d)),
    )
    cols: list[Column] = []
    for name, arr in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        cols += [(f"{name}_{j}", fcol(arr[:, j], 5), "float") for j in range(d)]
    return cols


def ranking() -> list[Column]:
    rng = np.random.default_rng(117)
    n = 1000
    y = np.where(rng.random(n) < 0.5, 1, -1)
    base = rng.normal(0.0, 1.0, n)
    gap = 0.8 * y + rng.normal(0.0, 0.7, n)  # x1 should rank above x2 when y = +1
    return [
        ("y_true", icol(y), "int"),
        ("x1", fcol(base + gap / 2), "float"),
        ("x2", fcol(base - gap / 2), "float"),
    ]


def cosine_pairs() -> list[Column]:
    rng = np.random.default_rng(118)
    n, d = 800, 4
    y = np.where(rng.random(n) < 0.5, 1, -1)
    a = rng.normal(0.0, 1.0, (n, d))
    b = np.where((y == 1)[:, None], a + rng.normal(0.0, 0.5, (n, d)), rng.normal(0.0, 1.0, (n, d)))
    return [
        ("y_true", icol(y), "int"),
        *[(f"a_{j}", fcol(a[:, j], 5), "float") for j in range(d)],
        *[(f"b_{j}", fcol(b[:, j], 5), "float") for j in range(d)],
    ]


def distribution() -> list[Column]:
    rng = np.random.default_rng(119)
    n, k = 1000, 4
    t = rng.dirichlet(np.full(k, 1.5), n)
    # about a third of the targets have one or two exact zeros
    for i in np.flatnonzero(rng.random(n) < 0.35):
        n_zero = 1 + int(rng.random() < 0.3)
        t[i, rng.choice(k, size=n_zero, replace=False)] = 0.0
    t = t / t.sum(axis=1, keepdims=True)
    p = 0.7 * t + 0.3 * rng.dirichlet(np.full(k, 2.0), n)
    p = np.maximum(p, 1e-3)
    return [
        *simplex_cols(t, [f"t_{j}" for j in range(k)], positive=False),
        *simplex_cols(p, [f"p_{j}" for j in range(k)]),
    ]


def sequence() -> list[Column]:
    rng = np.random.default_rng(120)
    n_seq, n_tok, vocab = 100, 3000, 8
    lengths = 10 + rng.multinomial(n_tok - 10 * n_seq, np.full(n_seq, 1.0 / n_seq))
    ids, tokens, logits = [], [], []
    for s, length in enumerate(lengths):
        quality = rng.uniform(0.5, 3.0)  # how well the model knows this sequence
        tok = np.empty(length, dtype=int)
        tok[0] = rng.integers(0, vocab)
        for j in range(1, length):  # a sticky Markov chain over the vocabulary
            tok[j] = tok[j - 1] if rng.random() < 0.3 else rng.integers(0, vocab)
        ids += [f"s{s:03d}"] * length
        tokens.append(tok)
        logits.append(quality * np.eye(vocab)[tok] + rng.normal(0.0, 1.0, (length, vocab)))
    lg = np.concatenate(logits)
    return [
        ("seq_id", ids, "str"),
        ("y_true", icol(np.concatenate(tokens)), "int"),
        *[(f"logit_{j}", fixcol(lg[:, j], 2), "float") for j in range(vocab)],
    ]


def hinge() -> list[Column]:
    rng = np.random.default_rng(121)
    n = 1500
    y = np.where(rng.random(n) < 0.5, 1, -1)
    score = 1.2 * y + rng.normal(0.0, 1.0, n)
    return [("y_true", icol(y), "int"), ("score", fcol(score), "float")]


FILES: dict[str, Callable[[], list[Column]]] = {
    "regression": regression,
    "regression_clean": regression_clean,
    "regression_worse": regression_worse,
    "regression_retrained": regression_retrained,
    "regression_var": regression_var,
    "counts": counts,
    "quantile": quantile,
    "binary": binary,
    "binary_logits": binary_logits,
    "imbalanced": imbalanced,
    "multiclass": multiclass,
    "multiclass_logits": multiclass_logits,
    "multilabel": multilabel,
    "segmentation": segmentation,
    "segmentation_multiclass": segmentation_multiclass,
    "similarity": similarity,
    "triplets": triplets,
    "triplet_embeddings": triplet_embeddings,
    "ranking": ranking,
    "cosine_pairs": cosine_pairs,
    "distribution": distribution,
    "sequence": sequence,
    "hinge": hinge,
}


# --------------------------------------------------------------------------- writers


def write_csv(path: Path, cols: list[Column]) -> None:
    n = len(cols[0][1])
    assert all(len(values) == n for _, values, _ in cols), path
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([name for name, _, _ in cols])
        writer.writerows(zip(*(values for _, values, _ in cols)))


def write_parquet(path: Path, cols: list[Column]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for name, values, kind in cols:
        if kind == "float":
            arrays[name] = pa.array([float(v) for v in values], type=pa.float64())
        elif kind == "int":
            arrays[name] = pa.array([int(v) for v in values], type=pa.int64())
        else:
            arrays[name] = pa.array(values, type=pa.string())
    pq.write_table(pa.table(arrays), path, compression="zstd")


def generate(out_dir: str | Path, parquet: bool = True) -> list[Path]:
    """Write every sample file into ``out_dir``; return the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, make in FILES.items():
        cols = make()
        path = out / f"{stem}.csv"
        write_csv(path, cols)
        written.append(path)
        if parquet and stem in PARQUET_STEMS:
            ppath = out / f"{stem}.parquet"
            write_parquet(ppath, cols)
            written.append(ppath)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out_dir = Path(args[0]) if args else HERE
    for path in generate(out_dir):
        print(f"{path.stat().st_size:>8}  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
