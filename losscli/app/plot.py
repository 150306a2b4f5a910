r"""Loss curves: L(x) and its derivative ∂L/∂x over one scalar x, drawn in the terminal or saved.

``losscli plot`` binds the ``--loss`` spec exactly as ``eval`` does and evaluates every
loss on a grid of ``x`` values, one grid point per row of a batch, through the losses'
own kernels (``rows`` for Lᵢ, ``grad`` with ``reduction='none'`` for ∂Lᵢ/∂input, as
``losscli.evaluate`` / ``losscli.gradient`` do). Nothing here re-implements a formula.

Each loss is drawn along a 1-D *slice* of its inputs, chosen by its input kind:

============== ============================ ================================================
input kind     x axis (default range)       rows of the batch
============== ============================ ================================================
real           error e = ŷ − y  (−3:3)      y = 0, ŷ = e
real, y > 0    prediction ŷ  (0.01:4)       y = 1, ŷ = x — for msle, mape, poisson, tweedie;
               (any loss of the plot needs it, so every regression loss then uses it)
real, logits   log-rate z  (−3:3)           y = 1, z = x (poisson with --from-logits)
gaussian       error e  (−3:3)              y = 0, mean = e, variance v = 1
binary         p  (0.001:0.999)             y = 1 and y = 0: two curves per loss
binary, logits logit z  (−6:6)              y = 1 and y = 0, z = x
margin         score z  (−6:6)              y = 1 (t = +1) and y = 0 (t = −1), s = x
multiclass     p of the true class          K = 2, label 1, probabilities (1 − p, p)
multiclass,    score margin z  (−6:6)       K = 2, label 1, scores (0, z) — with --from-logits,
logits / raw                                and for raw-score losses (multi_hinge, multi_margin)
log_probs      p of the true class          K = 2, label 1, log-probabilities (log(1 − p), log p)
pair_distance  distance d  (0:3)            y = 1 (similar) and y = 0 (dissimilar), d = x
triplet        gap Δ = d_ap − d_an  (−3:3)  d_an = c, d_ap = c + Δ (c ≥ 0 keeps both ≥ 0)
ranking        difference Δ = x1 − x2       t = +1 and t = −1, x1 = Δ, x2 = 0
pair_embedding angle θ  (0:π)               t = +1 and t = −1, x1 = (1, 0), x2 = (cos θ, sin θ)
============== ============================ ================================================

Every loss of one plot must share its x axis (``mse,bce`` is refused; ``bce,hinge
--from-logits`` puts both on the score axis). Overlap losses (dice, iou, tversky) are
ratios of sums over all rows, and kl_div compares two whole distributions: neither has a
curve over one prediction, so ``plot`` refuses them and lists what it can draw.

The derivative is the total derivative along the slice (the chain rule over the
slice's inputs u_k(x), not a new formula):

    ∂L/∂x = Σ_k Σ_c ∂Lᵢ/∂u_kc · du_kc/dx

so for the 2-class probability slice ∂L/∂p = ∂Lᵢ/∂p₁ − ∂Lᵢ/∂p₀, for log-probabilities
∂L/∂p = ∂Lᵢ/∂ℓ₁ / p − ∂Lᵢ/∂ℓ₀ / (1 − p), and for the angle ∂L/∂θ = ∂Lᵢ/∂x2 · (−sin θ, cos θ).

rmse and perplexity are reductions of a mean, with no per-row value; they are drawn
as the J of a batch whose rows all sit at x (rmse = |e|, perplexity = exp(CE) = 1/p),
with ∂J/∂x of that batch (rmse: sign e, 0 at e = 0).

Three steps, each usable alone: ``compute_curves`` returns plain arrays (x and named
y arrays, testable without drawing); ``render_terminal`` draws them with plotext;
``write_image`` saves a PNG or SVG with matplotlib (the ``plot`` extra).
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from losscli._lazy import np
from losscli.binding.objective import Composite, Objective, objectives_for
from losscli.errors import InputError, UsageError

POINTS = 201  # grid points: odd, so a symmetric default range has x = 0 on the grid
TERMINAL_SIZE = (80, 20)  # width × height when stdout is not a terminal (deterministic)
GRADIENT_HEIGHT = 36  # default height of the two-panel figure drawn with --gradient
#: the fewest lines a panel is drawn in: below, plotext's few rows carry tick labels a
#: whole row from their values, and a panel can lose every row of its curve
MIN_PANEL_HEIGHT = 12
IMAGE_FORMATS = (".png", ".svg")
PLOT_EXTRA = "pip install 'losscli[plot]'"


@dataclass(frozen=True)
class Axis:
    """An x axis: its label, the symbol in ∂L/∂·, the default range and the open domain."""

    kind: str
    label: str
    symbol: str
    default: tuple[float, float]
    lo: float | None = None  # x must stay above lo (or at it, when lo_closed)
    hi: float | None = None  # x must stay below hi
    lo_closed: bool = False


AXES = {
    "error": Axis("error", "error e = ŷ − y", "e", (-3.0, 3.0)),
    "prediction": Axis("prediction", "prediction ŷ (target y = 1)", "ŷ", (0.01, 4.0)),
    "log_rate": Axis("log_rate", "log-rate z (target y = 1)", "z", (-3.0, 3.0)),
    "p": Axis("p", "p (predicted probability)", "p", (0.001, 0.999), lo=0.0, hi=1.0),
    "score": Axis("score", "z (logit or raw score)", "z", (-6.0, 6.0)),
    "distance": Axis("distance", "distance d", "d", (0.0, 3.0), lo=0.0, lo_closed=True),
    "gap": Axis("gap", "gap Δ = d_ap − d_an", "Δ", (-3.0, 3.0)),
    "difference": Axis("difference", "difference Δ = x1 − x2", "Δ", (-3.0, 3.0)),
    "angle": Axis("angle", "angle θ between the embeddings (radians)", "θ", (0.0, math.pi)),
}

# (target y, prediction inputs u_k(x), their derivatives du_k/dx) for one case of a slice.
Inputs = tuple[Any, tuple[Any, ...], tuple[Any, ...]]


@dataclass(frozen=True)
class _Slice:
    """How one loss is laid along its x axis: the cases (one curve each) and the rows."""

    axis: str
    make: Callable[[Any, float | None], Inputs]
    cases: tuple[tuple[str, float | None], ...] = (("", None),)


@dataclass
class Curves:
    """The plain data of a plot: x, and per curve name L(x) and ∂L/∂x (same keys, same order)."""

    axis: Axis
    x: np.ndarray
    loss: dict[str, np.ndarray]
    grad: dict[str, np.ndarray]
    title: str
    groups: list[list[str]] = field(default_factory=list)  # curve names of each loss

    @property
    def xlabel(self) -> str:
        return self.axis.label

    @property
    def ylabel(self) -> str:
        return "loss"

    @property
    def grad_label(self) -> str:
        return f"∂L/∂{self.axis.symbol}"


# ---- slices ----------------------------------------------------------------------------


def _scalar(y0: float) -> Callable[[Any, float | None], Inputs]:
    """Target fixed at y0 (or the case's value), one prediction ŷ = x."""

    def make(x, t):
        y = np.full_like(x, y0 if t is None else t)
        return y, (x,), (np.ones_like(x),)

    return make


def _gaussian(y0: float, var: float = 1.0) -> Callable[[Any, float | None], Inputs]:
    def make(x, t):
        return np.full_like(x, y0), (x, np.full_like(x, var)), (np.ones_like(x), np.zeros_like(x))

    return make


def _two_class_probs(x, t):
    return np.ones_like(x), (np.column_stack([1.0 - x, x]),), (_pair(-1.0, 1.0, x),)


def _two_class_scores(x, t):
    return np.ones_like(x), (np.column_stack([np.zeros_like(x), x]),), (_pair(0.0, 1.0, x),)


def _two_class_log_probs(x, t):
    logp = np.column_stack([np.log1p(-x), np.log(x)])
    return np.ones_like(x), (logp,), (np.column_stack([-1.0 / (1.0 - x), 1.0 / x]),)


def _pair(a: float, b: float, x):
    return np.column_stack([np.full_like(x, a), np.full_like(x, b)])


def _triplet(x, t):
    c = max(0.0, -float(np.min(x)))
    return None, (c + x, np.full_like(x, c)), (np.ones_like(x), np.zeros_like(x))


def _ranking(x, t):
    return np.full_like(x, t), (x, np.zeros_like(x)), (np.ones_like(x), np.zeros_like(x))


def _angle(x, t):
    x1 = np.column_stack([np.ones_like(x), np.zeros_like(x)])
    x2 = np.column_stack([np.cos(x), np.sin(x)])
    return (
        np.full_like(x, t),
        (x1, x2),
        (np.zeros_like(x1), np.column_stack([-np.sin(x), np.cos(x)])),
    )


BINARY_CASES = (("y=1", 1.0), ("y=0", 0.0))
SIGNED_CASES = (("t=1", 1.0), ("t=−1", -1.0))


def _terms(obj: Objective) -> list[Any]:
    return [t for _, t in obj.terms] if isinstance(obj, Composite) else [obj]


def _needs_positive(obj: Objective) -> bool:
    terms = _terms(obj)
    # losses defined only for positive values (Loss.positive) are plotted over ŷ with y = 1
    return all(t.inputs == "real" for t in terms) and any(t.loss.positive for t in terms)


def plottable_losses() -> list[str]:
    """Names of the registered losses ``plot`` can draw."""
    from losscli.losses.registry import all_losses

    return [
        loss.name
        for loss in all_losses()
        if loss.kind == "loss" and not loss.ratio and loss.inputs in _PLOTTABLE_KINDS
    ]


_PLOTTABLE_KINDS = frozenset(
    {
        "real",
        "gaussian",
        "binary",
        "margin",
        "multiclass",
        "log_probs",
        "pair_distance",
        "triplet",
        "ranking",
        "pair_embedding",
    }
)


def _cannot_draw(label: str, why: str) -> UsageError:
    return UsageError(
        f"plot cannot draw {label}: {why}",
        hint=f"plot draws {', '.join(plottable_losses())}",
    )


def _slice_for(label: str, obj: Objective, positive: bool) -> _Slice:
    """The slice for one bound spec item; ``positive``: regression losses go over ŷ, y = 1."""
    terms = _terms(obj)
    kinds = sorted({t.inputs for t in terms})
    if len(kinds) > 1:
        raise _cannot_draw(label, f"its terms read different inputs ({', '.join(kinds)})")
    kind = kinds[0]
    if any(t.loss.kind != "loss" for t in terms):
        raise _cannot_draw(
            label, "it is a metric of all rows together (a skill score or a calibration measure)"
        )
    if obj.ratio:
        raise _cannot_draw(
            label,
            "it is computed from all rows together (a ratio of sums or a sort of the errors), "
            "with no curve over one prediction",
        )
    logits = any(t.params.get("from_logits") for t in terms)
    if kind == "real":
        if logits:
            return _Slice("log_rate", _scalar(1.0))
        return _Slice("prediction", _scalar(1.0)) if positive else _Slice("error", _scalar(0.0))
    if kind == "gaussian":
        y0 = 1.0 if positive else 0.0
        return _Slice("prediction" if positive else "error", _gaussian(y0), (("var=1", None),))
    if kind == "binary":
        return _Slice("score" if logits else "p", _scalar(0.0), BINARY_CASES)
    if kind == "margin":
        return _Slice("score", _scalar(0.0), BINARY_CASES)
    if kind == "multiclass":
        if logits or not any(t.loss.logits for t in terms):
            return _Slice("score", _two_class_scores, (("K=2", None),))
        return _Slice("p", _two_class_probs, (("K=2", None),))
    if kind == "log_probs":
        return _Slice("p", _two_class_log_probs, (("K=2", None),))
    if kind == "pair_distance":
        return _Slice("distance", _scalar(0.0), BINARY_CASES)
    if kind == "triplet":
        return _Slice("gap", _triplet)
    if kind == "ranking":
        return _Slice("difference", _ranking, SIGNED_CASES)
    if kind == "pair_embedding":
        return _Slice("angle", _angle, SIGNED_CASES)
    if kind == "distribution":
        raise _cannot_draw(
            label, "it compares two whole distributions, with no single prediction to vary"
        )
    raise _cannot_draw(label, f"its input kind {kind!r} has no 1-D slice")


# ---- ranges ------------------------------------------------------------------------------


def parse_range(text: str) -> tuple[float, float]:
    """``'A:B'`` → (A, B): two finite numbers with A < B, else a UsageError with an example."""
    a_text, sep, b_text = text.partition(":")
    hint = "e.g. --range -3:3, or --range 0.01:0.99 for probabilities"
    try:
        a, b = float(a_text), float(b_text)
    except ValueError:
        a = b = math.nan
    if not sep or not (math.isfinite(a) and math.isfinite(b)):
        raise UsageError(f"--range {text!r}: expected A:B with two numbers", hint=hint)
    if not a < b:
        raise UsageError(f"--range {text!r}: A must be less than B", hint=hint)
    return a, b


def _check_domain(axis: Axis, a: float, b: float) -> None:
    """The range must lie inside the axis's domain: p in (0, 1), a distance >= 0."""
    low_ok = axis.lo is None or a > axis.lo or (a == axis.lo and axis.lo_closed)
    high_ok = axis.hi is None or b < axis.hi
    if low_ok and high_ok:
        return
    if axis.hi is not None:
        domain = f"inside ({axis.lo:g}, {axis.hi:g})"
    else:
        domain = f"{'>=' if axis.lo_closed else '>'} {axis.lo:g}"
    lo, hi = axis.default
    raise UsageError(
        f"--range {a:g}:{b:g}: {axis.label} must be {domain}",
        hint=f"e.g. --range {lo:g}:{hi:g}",
    )


# ---- evaluation --------------------------------------------------------------------------


def _evaluate(obj: Objective, y: Any, preds: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
    """Per-row Lᵢ and ∂Lᵢ/∂(each input), each grid point one row.

    As ``evaluate``/``gradient`` with ``reduction='none'``; losses without per-row
    values (rmse, perplexity) give J and ∂J of a one-row batch per grid point.
    """
    from losscli.app.arrays import make_batch

    try:
        obj.check_reduction("none")
        per_row = True
    except UsageError:
        obj.check_reduction("mean")
        per_row = False
    if per_row:
        batch = make_batch(y, preds)
        sums = obj.update(batch)  # composites index their terms' sums even for 'none'
        return obj.rows(batch), obj.grad(batch, sums, "none")
    values, grads = [], []
    for i in range(len(preds[0])):
        row = make_batch(
            None if y is None else y[i : i + 1], tuple(p[i : i + 1] for p in preds), row0=i
        )
        sums = obj.update(row)
        values.append(obj.compute(sums, "mean"))
        grads.append(obj.grad(row, sums, "mean"))
    return np.asarray(values), tuple(np.concatenate(g) for g in zip(*grads))


def _total_derivative(grads: tuple[Any, ...], jac: tuple[Any, ...]) -> Any:
    """∂L/∂x = Σ_k Σ_c ∂L/∂u_kc · du_kc/dx (the chain rule along the slice)."""
    total = 0.0
    for g, j in zip(grads, jac, strict=True):
        total = total + (np.sum(g * j, axis=1) if g.ndim == 2 else g * j)
    return total


def _describe(x_value: float, exc: InputError) -> str:
    what = getattr(exc, "what", "")
    role = getattr(exc, "role", "")
    return f"the {role} {what} at x = {x_value:g}" if what and role else exc.message


def compute_curves(
    spec: str,
    params: Mapping[str, Any] | None = None,
    *,
    from_logits: bool = False,
    x_range: tuple[float, float] | None = None,
    points: int = POINTS,
) -> Curves:
    """The curves of every loss in ``spec``: x on the loss's axis, L(x) and ∂L/∂x.

    ``spec`` and ``params`` are bound as ``eval`` binds ``--loss`` and the shared
    parameter flags. ``x_range`` defaults to the axis's range (error −3:3, p
    0.001:0.999, logit −6:6, distance 0:3, …). A loss with two cases (y = 1 and
    y = 0, t = ±1) gives two curves, named ``"bce (y=1)"`` and ``"bce (y=0)"``.
    """
    bound = objectives_for(spec, params or {}, from_logits)
    positive = any(_needs_positive(obj) for _, obj in bound)
    slices = [(label, obj, _slice_for(label, obj, positive)) for label, obj in bound]
    kinds = list(dict.fromkeys(s.axis for _, _, s in slices))
    if len(kinds) > 1:
        where = "; ".join(f"{label}: {AXES[s.axis].label}" for label, _, s in slices)
        hint = "plot them in separate commands"
        if set(kinds) == {"p", "score"}:
            hint = "--from-logits puts bce, focal, brier and cross_entropy on the logit axis, next to hinge"
        raise UsageError(f"these losses are drawn over different x axes ({where})", hint=hint)
    axis = AXES[kinds[0]]
    a, b = x_range if x_range is not None else axis.default
    _check_domain(axis, a, b)
    x = np.linspace(a, b, points)
    loss: dict[str, Any] = {}
    grad: dict[str, Any] = {}
    groups: list[list[str]] = []
    for label, obj, sl in slices:
        names = []
        for suffix, t in sl.cases:
            name = f"{label} ({suffix})" if suffix else label
            while name in loss:  # the same loss twice in one spec
                name += "′"
            y, preds, jac = sl.make(x, t)
            try:
                values, grads = _evaluate(obj, y, preds)
            except InputError as exc:
                bad = float(x[int(getattr(exc, "row", 0) or 0)])
                lo, hi = axis.default
                raise UsageError(
                    f"{label} is not defined on all of --range {a:g}:{b:g}: {_describe(bad, exc)}",
                    hint=f"choose a range inside its domain, e.g. --range {lo:g}:{hi:g}",
                ) from exc
            derivative = _total_derivative(grads, jac)
            bad = ~(np.isfinite(values) & np.isfinite(derivative))
            if bad.any():
                raise UsageError(
                    f"{label} is not finite at x = {float(x[np.argmax(bad)]):g}",
                    hint="choose a narrower --range",
                )
            loss[name] = np.asarray(values, dtype=float)
            grad[name] = np.asarray(derivative, dtype=float) * np.ones_like(x)
            names.append(name)
        groups.append(names)
    shared = ", ".join(f"{k}={v}" for k, v in (params or {}).items())
    title = f"loss curves: {', '.join(label for label, _ in bound)}"
    if shared:
        title += f" ({shared})"
    return Curves(axis, x, loss, grad, title, groups)


# ---- terminal ----------------------------------------------------------------------------

# Without colour, curves are told apart by their marker; with colour, by colour.
PLAIN_MARKERS = ("•", "+", "x", "*", "o", "#", "=", "%", "@", "~")
COLORS = ("blue+", "green+", "red+", "cyan+", "magenta+", "yellow", "gray", "blue")


def use_color(terminal: bool) -> bool:
    """Colour only on an interactive terminal, and never when NO_COLOR is set."""
    return terminal and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def figure_size(
    gradient: bool, width: int | None = None, height: int | None = None, terminal: bool = False
) -> tuple[int, int]:
    """Width × height in character cells: the terminal's width on a terminal, else 80;
    20 rows (36 with --gradient), fitted to the terminal's height on a terminal."""
    default_h = GRADIENT_HEIGHT if gradient else TERMINAL_SIZE[1]
    if terminal:
        cols, lines = shutil.get_terminal_size(TERMINAL_SIZE)
        panels = 2 if gradient else 1
        fitted = max(MIN_PANEL_HEIGHT * panels, min(default_h, lines - 2))
        return width or cols, height or fitted
    return width or TERMINAL_SIZE[0], height or default_h


def _trim(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def _clear(plt: Any) -> None:
    """plotext's whole figure cleared: ``clear_figure`` clears the active subplot only, so
    a second plot in the process drew into the first one's panels."""
    plt.main()
    plt.clear_figure()


def render_terminal(
    curves: Curves,
    *,
    gradient: bool = False,
    width: int = TERMINAL_SIZE[0],
    height: int | None = None,
    color: bool = False,
) -> str:
    """The plot as text, drawn by plotext: L(x) on top and, with ``gradient``, ∂L/∂x below.

    The derivative gets its own panel (same x, its own y scale) rather than dashed
    curves: a terminal cannot draw dashes, and L and ∂L/∂x differ in scale. Without
    ``color`` the text has no ANSI codes and each curve has its own marker character.
    """
    try:
        import plotext as plt
    except ImportError as exc:  # a runtime dependency: only a broken install lacks it
        raise UsageError(
            "losscli plot needs plotext", hint="pip install 'plotext>=5.2,<6'"
        ) from exc
    if not hasattr(plt, "clear_figure"):  # plotext 6 replaced this API with figure objects
        raise UsageError(
            f"losscli plot needs plotext 5, found {getattr(plt, '__version__', 'another version')}",
            hint="pip install 'plotext>=5.2,<6'",
        )

    if height is None:
        height = GRADIENT_HEIGHT if gradient else TERMINAL_SIZE[1]
    names = list(curves.loss)
    x = curves.x.tolist()

    def style(i: int) -> dict[str, Any]:
        if color:
            return {"marker": "hd", "color": COLORS[i % len(COLORS)]}
        if len(names) == 1:
            return {"marker": "hd"}
        return {"marker": PLAIN_MARKERS[i % len(PLAIN_MARKERS)]}

    def panel(values: Mapping[str, Any], title: str, ylabel: str, legend: bool) -> None:
        plt.theme("pro" if color else "clear")
        for i, name in enumerate(names):
            plt.plot(x, values[name].tolist(), label=name if legend else None, **style(i))
        plt.title(_trim(title, width - 2))
        plt.xlabel(curves.xlabel)
        plt.ylabel(ylabel)

    _clear(plt)
    try:
        plt.limit_size(False, False)  # the size given, whatever the terminal (or none) says
        plt.plot_size(width, height)
        if gradient:
            plt.subplots(2, 1)
            plt.subplot(1, 1)
            panel(curves.loss, curves.title, curves.ylabel, legend=True)
            plt.subplot(2, 1)
            panel(curves.grad, f"derivative {curves.grad_label}", curves.grad_label, legend=False)
        else:
            panel(curves.loss, curves.title, curves.ylabel, legend=True)
        text = plt.build()
    finally:
        _clear(plt)
    if not color:
        text = plt.uncolorize(text)
    return "\n".join(line.rstrip() for line in text.splitlines())


# ---- image ---------------------------------------------------------------------------------


def image_format(path: str) -> str:
    """``png`` or ``svg`` from the file name; anything else is a UsageError."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_FORMATS:
        raise UsageError(
            f"cannot write a plot to -o {path}: use a .png or .svg file name",
            hint="or leave out -o to draw the plot in the terminal",
        )
    return suffix[1:]


def _matplotlib() -> tuple[Any, Any]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise UsageError(
            f"writing a .png or .svg plot needs matplotlib: {PLOT_EXTRA}",
            hint="or leave out -o to draw the plot in the terminal",
        ) from exc
    return Figure, FigureCanvasAgg


def write_image(curves: Curves, path: str, *, gradient: bool = False) -> None:
    """Save the plot as PNG or SVG (by extension) with matplotlib's Agg canvas, atomically.

    Colour marks the loss and the line style its case (solid y = 1 / t = 1, dashed
    y = 0 / t = −1); with ``gradient`` a second panel below shows ∂L/∂x.
    """
    import io

    from losscli.io.sink import check_writable, write_bytes_atomic

    fmt = image_format(path)
    check_writable(path)
    Figure, FigureCanvasAgg = _matplotlib()
    fig = Figure(figsize=(8.0, 7.0 if gradient else 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 1, sharex=True) if gradient else [fig.subplots()]
    styles = ("-", "--", ":", "-.")
    panels: list[tuple[Any, Mapping[str, Any], str]] = [(axes[0], curves.loss, curves.ylabel)]
    if gradient:
        panels.append((axes[1], curves.grad, curves.grad_label))
    for ax, values, ylabel in panels:
        for k, group in enumerate(curves.groups):
            for j, name in enumerate(group):
                ax.plot(
                    curves.x,
                    values[name],
                    color=f"C{k % 10}",
                    linestyle=styles[j % len(styles)],
                    label=name,
                )
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    axes[0].set_title(curves.title)
    axes[0].legend()
    axes[-1].set_xlabel(curves.xlabel)
    if gradient:
        axes[1].axhline(0.0, color="0.5", linewidth=0.8)
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else None  # reproducible SVG files
    fig.savefig(buffer, format=fmt, metadata=metadata)
    write_bytes_atomic(path, buffer.getvalue())


# ---- the command ---------------------------------------------------------------------------


def plot(
    spec: str,
    params: Mapping[str, Any],
    *,
    from_logits: bool = False,
    x_range: str | None = None,
    gradient: bool = False,
    output: str | None = None,
    width: int | None = None,
    height: int | None = None,
    terminal: bool = False,
) -> str | None:
    """What ``losscli plot`` does: the plot as text (to print), or None after writing ``output``.

    ``terminal``: stdout is an interactive terminal (its size and colour are used)."""
    if output is not None:
        image_format(output)  # before any work: a bad name fails fast
    bounds = parse_range(x_range) if x_range is not None else None
    curves = compute_curves(spec, params, from_logits=from_logits, x_range=bounds)
    if output is not None:
        write_image(curves, output, gradient=gradient)
        return None
    if gradient and height is not None and height < 2 * MIN_PANEL_HEIGHT:
        raise UsageError(
            f"--height {height}: --gradient draws two panels of {MIN_PANEL_HEIGHT} lines or "
            f"more, so give --height {2 * MIN_PANEL_HEIGHT} or more (default {GRADIENT_HEIGHT})"
        )
    w, h = figure_size(gradient, width, height, terminal)
    return render_terminal(curves, gradient=gradient, width=w, height=h, color=use_color(terminal))


__all__ = [
    "AXES",
    "Axis",
    "Curves",
    "compute_curves",
    "figure_size",
    "image_format",
    "parse_range",
    "plot",
    "plottable_losses",
    "render_terminal",
    "use_color",
    "write_image",
]
