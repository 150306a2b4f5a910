"""The charts of ``losscli report``: matplotlib figures as inline SVG text (the ``report`` extra).

Each function takes the plain numbers of the eval document or of
``engine.report_stats`` and returns one ``<svg>`` element. The SVG is deterministic
(``svg.hashsalt`` fixed, no date in the metadata) and self-contained: text stays text
(``svg.fonttype = 'none'``) with font-family names only, no font files, no links.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from losscli.errors import UsageError

REPORT_EXTRA = "pip install 'losscli[report]'"
WIDTH = 6.4  # inches: the figures sit in a page about 1000 px wide
SMALL = 5.0  # inches: charts drawn once per loss, two to a row


def require_matplotlib() -> None:
    """A clear usage error (exit 2) when the ``report`` extra is not installed, before the
    file is read (told by ``find_spec``, without importing it); then what the charts use
    is imported in a thread of its own (a quarter to half a second, spent while the
    evaluation pass reads the file). The first chart waits for it (``_ready``); a failed
    import is the same usage error then."""
    import importlib.util
    import threading

    try:
        found = importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise _missing()
    loading: dict[str, Any] = {}

    def load() -> None:
        try:
            import matplotlib  # noqa: F401
            import matplotlib.backends.backend_agg
            import matplotlib.backends.backend_svg
            import matplotlib.colors
            import matplotlib.figure
            import matplotlib.ticker  # noqa: F401
        except BaseException as exc:  # restated by _ready, in the thread that draws
            loading["error"] = exc

    # a daemon: a command that fails before its first chart exits at once, without
    # waiting for an import nobody needs any more
    thread = threading.Thread(target=load, name="losscli-matplotlib", daemon=True)
    loading["thread"] = thread
    _LOADING[:] = [loading]
    thread.start()


_LOADING: list[dict[str, Any]] = []  # the import the last require_matplotlib started


def _ready() -> None:
    """Wait for the import ``require_matplotlib`` started; its failure as a usage error."""
    if not _LOADING:
        return
    loading = _LOADING[0]
    loading["thread"].join()
    error = loading.get("error")
    if isinstance(error, ImportError):
        raise _missing() from error
    if error is not None:
        raise error


def _missing() -> UsageError:
    return UsageError(f"losscli report draws its charts with matplotlib: {REPORT_EXTRA}")


def _figure(height: float = 3.2, width: float = WIDTH) -> Any:
    _ready()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


#: inches of margin around what a chart draws (``_svg``)
PAD = 0.05


def _svg(fig: Any) -> str:
    """The figure as one ``<svg>`` element (no XML prolog, no DOCTYPE), cut to what it
    draws: its axes where the default subplot margins put them, the page grown or cropped
    to every label, title and legend (``bbox_inches="tight"``), nothing clipped. One
    measure of the text, where a layout engine (constrained) measures it on each of its
    passes and moves the axes: a fifth to a quarter less time for the report's charts."""
    import io

    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(
        {"svg.fonttype": "none", "svg.hashsalt": "losscli-report", "svg.image_inline": True}
    ):
        fig.savefig(
            buffer,
            format="svg",
            metadata={"Date": None, "Creator": None},
            bbox_inches="tight",
            pad_inches=PAD,
        )
    text = buffer.getvalue()
    return text[text.index("<svg") :]


#: the most groups a bar chart shows (the worst ones); the page's table lists them all
MAX_BARS = 40


def group_bars(loss: str, groups: Sequence[dict[str, Any]], higher_is_better: bool = False) -> str:
    """Per-group values as horizontal bars, worst group on top, interval whiskers; the
    ``MAX_BARS`` worst of more (a chart of 2,000 groups was 46,000 pt tall)."""
    rows = sorted(groups, key=lambda r: _sort_value(r["value"]), reverse=not higher_is_better)
    shown = rows[:MAX_BARS]
    fig = _figure(height=max(1.6, 0.32 * len(shown) + 1.0), width=SMALL)
    ax = fig.subplots()
    _bars(ax, [_label(r["group"]) for r in shown], shown, "value", ["#4C72B0"] * len(shown))
    ax.set_xlabel(f"{loss} ({'higher' if higher_is_better else 'lower'} is better)")
    if len(rows) > len(shown):
        ax.set_title(f"{loss}: the {len(shown)} worst of {len(rows):,} groups", fontsize=10)
    else:
        ax.set_title(f"{loss} by group, worst first")
    ax.grid(True, axis="x", alpha=0.3)
    return _svg(fig)


VERDICT_COLOURS = {"REGRESSION": "#C44E52", "better": "#55A868"}  # others grey


def differences(loss: str, rows: Sequence[dict[str, Any]], verdicts: Sequence[str]) -> str:
    """``report BASE CAND``: the paired difference d = candidate − baseline of one loss,
    whole file then each group, as bars with the bootstrap interval as whiskers; red for
    a regression, green for better, grey otherwise."""
    fig = _figure(height=max(1.6, 0.32 * len(rows) + 1.1), width=SMALL)
    ax = fig.subplots()
    names = ["(all)" if r["group"] is None else _label(r["group"]) for r in rows]
    _bars(ax, names, rows, "difference", [VERDICT_COLOURS.get(v, "#8C8C8C") for v in verdicts])
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    worse = {"lower": " (higher is worse)", "higher": " (lower is worse)"}
    ax.set_xlabel("candidate − baseline" + worse.get(rows[0]["better"] if rows else None, ""))
    ax.set_title(f"{loss}: paired difference")
    ax.grid(True, axis="x", alpha=0.3)
    return _svg(fig)


def histogram(loss: str, hist: dict[str, Any], grads: dict[str, Any] | None) -> str:
    """Per-row losses Lᵢ (and ‖∂Lᵢ/∂ŷᵢ‖²) on the log bins; bins ≤ 0 are annotated."""
    edges = hist["edges"]
    fig = _figure(height=3.0, width=SMALL)
    ax = fig.subplots()
    for name, h, color in (("Lᵢ", hist, "#4C72B0"), ("‖∂Lᵢ/∂ŷᵢ‖²", grads, "#DD8452")):
        if h is None:
            continue
        counts = h["counts"][2:-1]  # the log bins
        used = [i for i, c in enumerate(counts) if c]
        if not used:
            continue
        lo, hi = used[0], used[-1] + 1
        ax.stairs(counts[lo:hi], edges[lo : hi + 1], fill=False, color=color, label=name)
    ax.set_xscale("log")
    _plain_log_ticks(ax.xaxis)
    ax.set_xlabel("per-row value (log scale; 4 bins per decade)")
    ax.set_ylabel("rows")
    zero = hist["counts"][0]
    title = f"{loss}: distribution of per-row losses"
    if zero:
        title += f" ({zero} rows at Lᵢ ≤ 0 not shown)"
    ax.set_title(title)
    ax.legend()
    ax.grid(True, alpha=0.3)
    return _svg(fig)


def residual_density(res: dict[str, Any]) -> str:
    """Residual y − ŷ against prediction ŷ as a binned 2-D count (log colour)."""
    import numpy as np

    counts = np.asarray(res["counts"], dtype=float).T  # rows: residual bins
    fig = _figure(height=4.0)  # first: it waits for matplotlib's import in its thread
    from matplotlib.colors import LogNorm

    ax = fig.subplots()
    (x0, x1), (y0, y1) = res["pred_range"], res["resid_range"]
    shown = np.where(counts > 0, counts, np.nan)
    vmax = max(float(np.nanmax(shown)) if np.isfinite(shown).any() else 1.0, 1.0)
    mesh = ax.imshow(  # one inline image, not 1,600 SVG paths
        shown,
        origin="lower",
        extent=(x0, x1, y0, y1),
        aspect="auto",
        interpolation="nearest",
        cmap="viridis",
        norm=LogNorm(vmin=1.0, vmax=max(vmax, 1.5)),
    )
    bar = fig.colorbar(mesh, ax=ax, label="rows per cell")
    _plain_log_labels(bar.ax.yaxis, minor=vmax < 100)
    ax.axhline(0.0, color="0.3", linewidth=0.8)
    ax.set_xlabel("prediction ŷ")
    ax.set_ylabel("residual y − ŷ")
    notes = []
    if res["clipped"]:
        notes.append(f"{_rows(res['clipped'])} outside clipped into the edge cells")
    if res.get("rebinned"):
        notes.append(f"{_rows(res['rebinned'])} of parts read in parallel re-binned by cell centre")
    # each note on a line of its own: a long title would run past the figure's edges
    ax.set_title("\n".join(["Residuals against predictions (40 × 40 cells)", *notes]), fontsize=9)
    return _svg(fig)


def residual_shapes(res: dict[str, Any], marks: Sequence[tuple[str, float]]) -> str:
    """The residual distribution (the grid's residual margin) with where each robust loss's
    shape changes: ±δ of huber-type losses, the τ-quantile of quantile (pinball) losses."""
    import numpy as np

    counts = np.asarray(res["counts"]).sum(axis=0)
    y0, y1 = res["resid_range"]
    edges = np.linspace(y0, y1, len(counts) + 1)
    fig = _figure(height=3.0, width=WIDTH + 2.4)
    ax = fig.subplots()
    ax.stairs(counts, edges, fill=True, color="#4C72B0", alpha=0.6, label="residuals y − ŷ")
    k = 0
    for label, x in marks:  # an empty label: the other side of the mark before, same colour
        k += bool(label)
        ax.axvline(
            x, color=f"C{k % 10}", linestyle="--", linewidth=1.2, label=label or "_nolegend_"
        )
    ax.set_xlabel("residual y − ŷ (edge bins hold the clipped rows)")
    ax.set_ylabel("rows")
    ax.set_title("Residuals and the robust losses' shape", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(True, alpha=0.3)
    return _svg(fig)


def reliability(cal: dict[str, Any]) -> str:
    """Reliability diagram: observed frequency against mean predicted probability per bin."""
    fig = _figure(height=3.6, width=4.6)
    ax = fig.subplots()
    b = cal["bins"]
    width = 1.0 / b
    centers = [(k + 0.5) * width for k in range(b)]
    observed = [y if y is not None else 0.0 for y in cal["mean_y"]]
    ax.bar(centers, observed, width=width * 0.9, color="#4C72B0", label="observed")
    points = [(p, y) for p, y in zip(cal["mean_p"], cal["mean_y"]) if p is not None]
    if points:
        ax.plot(*zip(*points), "o", color="#DD8452", markersize=4, label="mean p per bin")
    ax.plot([0, 1], [0, 1], "--", color="0.4", linewidth=1, label="perfect")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    what = "p of class 1" if cal["kind"] == "binary" else "top-label confidence"
    ax.set_xlabel(f"predicted ({what}), {b} equal-width bins")
    ax.set_ylabel("observed frequency")
    ece = cal["ece"]
    ax.set_title(f"Reliability (ECE = {ece:.4g})" if ece is not None else "Reliability")
    ax.legend(loc="upper left", fontsize=8)
    return _svg(fig)


def confusion(cal: dict[str, Any], classes: Sequence[str] | None) -> str:
    """The confusion matrix (rows: true class, columns: predicted class), counts in cells."""
    import numpy as np

    m = np.asarray(cal["confusion"])
    names = (
        [_label(c) for c in classes]
        if classes and len(classes) == len(m)
        else [str(i) for i in range(len(m))]
    )
    size = min(2.4 + 0.45 * len(m), 8.0)
    fig = _figure(height=size, width=size + 0.8)
    ax = fig.subplots()
    ax.imshow(m, cmap="Blues")
    top = m.max() if m.size else 0
    for i in range(len(m)):
        for j in range(len(m)):
            ax.text(
                j,
                i,
                str(int(m[i, j])),
                ha="center",
                va="center",
                color="white" if m[i, j] > top / 2 else "black",
                fontsize=8,
            )
    ax.set_xticks(range(len(m)), names, rotation=45 if len(m) > 4 else 0)
    ax.set_yticks(range(len(m)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    at = {"binary": "p > 0.5", "margin": "s > 0"}.get(cal["kind"], "argmax")
    ax.set_title(f"Confusion matrix at {at}")
    return _svg(fig)


def _bars(ax: Any, names: list[str], rows: Sequence[dict[str, Any]], key: str, colours: list[str]):
    """Horizontal bars of ``row[key]``, the first row on top, with each row's bootstrap
    interval (``ci_low``, ``ci_high``) as whiskers where it has one."""
    values = [_finite(r[key]) for r in rows][::-1]
    names = names[::-1]
    ax.barh(names, values, color=colours[::-1])
    lows = [r.get("ci_low") for r in rows][::-1]
    highs = [r.get("ci_high") for r in rows][::-1]
    if any(x is not None for x in lows):
        err = [
            [max(v - _finite(lo), 0.0) if lo is not None else 0.0 for v, lo in zip(values, lows)],
            [max(_finite(hi) - v, 0.0) if hi is not None else 0.0 for v, hi in zip(values, highs)],
        ]
        ax.errorbar(values, names, xerr=err, fmt="none", ecolor="black", capsize=3)


def _plain_log_ticks(axis: Any) -> None:
    """Decade ticks as plain text (1e-06, 0.01, 100), and no minor ticks: matplotlib's
    default log labels are mathtext, which costs about half a second per chart to lay
    out, and its eight minor ticks per decade a tenth of a second more."""
    from matplotlib.ticker import FuncFormatter, NullLocator

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(NullLocator())


def _plain_log_labels(axis: Any, minor: bool) -> None:
    """The log colour bar's labels as plain text (100, 1e+06) on its default ticks: the
    default labels are mathtext (10²), slow to lay out as ``_plain_log_ticks`` says.
    Minor ticks (2 … 9 of each decade) only where the bar spans less than two decades:
    across more, the decades are labels enough and the minor ticks cost a tenth of a
    second to lay out."""
    from matplotlib.ticker import LogFormatter, NullLocator

    axis.set_major_formatter(LogFormatter())
    if minor:
        axis.set_minor_formatter(LogFormatter(labelOnlyBase=False))
    else:
        axis.set_minor_locator(NullLocator())


def _label(value: Any) -> str:
    """A group or class read from input, as a chart label: control characters escaped
    (``\\x1b``), as the tables show them; a font has no glyph for them."""
    from losscli.errors import printable

    return printable(str(value))


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def _finite(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else 0.0


def _sort_value(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and not math.isnan(v) else -math.inf
