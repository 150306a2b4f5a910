r"""Calibration of binary probabilities: expected calibration error and the Brier decomposition.

Forecasts p (the positive-class probability, σ(z) with ``from_logits``) are put in
B bins (``bins``, default 15 as torchmetrics). With ``binning=width`` the bins are
[k/B, (k+1)/B) over [0, 1], the last one closed; with ``binning=mass`` their inner
edges are the k/B weighted quantiles of p by the inverted CDF
(``np.quantile(p, k/B, weights=w, method="inverted_cdf")``) and bin k holds the p
with e_k < p ≤ e_{k+1}, so rows with the same p always share a bin (ties can leave
bins uneven or empty). Per bin k, with weights w (1 without ``--weight``):

    W_k = Σ w,  p̄_k = Σ w p / W_k,  ȳ_k = Σ w y / W_k,  W = Σ_k W_k,  ȳ = Σ w y / W.

ECE = Σ_k (W_k/W) |ȳ_k − p̄_k|. The Brier score BS = Σ w (p − y)² / W decomposes as

    BS = REL − RES + UNC,
    REL = Σ_k (W_k/W)(p̄_k − ȳ_k)²                         (reliability, Murphy 1973)
    RES = Σ_k (W_k/W)(ȳ_k − ȳ)² − WBV + WBC                (generalized resolution)
    UNC = ȳ(1 − ȳ)                                         (uncertainty)
    WBV = Σ w (p − p̄_k)² / W,  WBC = 2 Σ w (y − ȳ_k)(p − p̄_k) / W

The within-bin variance WBV and covariance WBC (Stephenson, Coelho & Jolliffe 2008,
"Two extra components in the Brier score decomposition") make the identity exact
for binned forecasts; they vanish when the forecasts within each bin are equal, and
``generalized=false`` reports Murphy's resolution without them.

Streaming: equal-width bins are per-bin sums (W_k, Σwp, Σwy, Σwp², Σwpy); equal-mass
bins need the quantiles of every p, so they keep each row's (p, y, w) (``Collected``).
Gradients hold the bin assignment fixed (what autograd returns for the binned
computation); the values jump where a forecast crosses a bin edge.
"""

from __future__ import annotations

from losscli._lazy import np
from losscli.errors import InputError, ZeroWeightError
from losscli.kernel.grouped import group_sum, ungrouped
from losscli.kernel.numerics import sigmoid, sigmoid_backward
from losscli.kernel.quantiles import mass_edges
from losscli.kernel.streaming import Batch, Kernel, Params, PartialSums, collect_grouped
from losscli.kernel.validate import require_binary, require_probabilities
from losscli.losses.params import BOOL, CHOICE, INT, Param
from losscli.losses.registry import Explain, register_loss

CALIBRATION_TASKS = ("binary", "imbalanced")


def at_least_one(v: int) -> bool:
    return v >= 1


BINS = Param(
    "bins", 15, kind=INT, check=at_least_one, valid="an integer >= 1", help="number of bins B"
)
BINNING = Param(
    "binning",
    "width",
    kind=CHOICE,
    choices=("width", "mass"),
    valid="width or mass",
    help="equal-width bins over [0, 1], or equal-mass bins at the quantiles of p",
)
GENERALIZED = Param(
    "generalized",
    True,
    kind=BOOL,
    valid="true or false",
    help="include the within-bin terms (BS = REL − RES + UNC exactly)",
)

BINNING_TEXT = (
    "binning=width: bins [k/B, (k+1)/B), the last closed; binning=mass: inner edges at the k/B "
    "weighted quantiles of p (inverted CDF), bin k = (e_k, e_{k+1}], ties never split"
)
ACTIVATION = "sigmoid probabilities (or logits with --from-logits)"
GRADIENT_NOTE = (
    "with the bin assignment held fixed (what autograd returns for the binned computation; "
    "the value jumps where p crosses a bin edge); logits: × p(1 − p)"
)


def width_bins(p: np.ndarray, bins: int) -> np.ndarray:
    """Bin index of each p in B equal-width bins [k/B, (k+1)/B), p = 1 in the last."""
    return np.searchsorted(np.linspace(0.0, 1.0, bins + 1)[1:-1], p, side="right")


class _Forecasts(Kernel):
    """One 0/1 target column and one probability (or logit) column."""

    ratio = True
    reductions = ("mean",)
    name = ""

    def prepare(self, batch: Batch, params: Params) -> Batch:
        y, x = batch.target, batch.preds[0]
        if y is None:
            raise InputError(f"{self.name} needs a 0/1 target column")
        if x.ndim != 1 or y.ndim != 1:
            raise InputError(
                f"{self.name} takes one 0/1 target column and one probability column; got "
                f"{1 if y.ndim == 1 else y.shape[1]} target and "
                f"{1 if x.ndim == 1 else x.shape[1]} prediction column(s)",
                hint="calibration is measured for binary probabilities: choose the class "
                "column with --pred and a 0/1 target with --target",
            )
        require_binary(y, batch)
        if params["from_logits"]:
            return batch.replace(aux={"p": sigmoid(x)})
        require_probabilities(x, batch)
        return batch.replace(aux={"p": x})

    def update(self, batch, params):
        return ungrouped(self.update_grouped, batch, params)

    def chain(self, grad_p: np.ndarray, batch: Batch, params: Params) -> tuple[np.ndarray]:
        """∂/∂p → ∂/∂z through the sigmoid when the predictions are logits."""
        if params["from_logits"]:
            return (sigmoid_backward(grad_p, batch.aux["p"]),)
        return (grad_p,)


def positive_total(weight: float) -> float:
    """The total weight of the rows scored; 0 (or less) is an error: nothing to average."""
    if not weight > 0:
        exc = ZeroWeightError()
        exc.hint = "give some rows a positive weight"
        raise exc
    return weight


class _Binned(_Forecasts):
    """Per-bin sums W_k, Σwp, Σwy, Σwp², Σwpy (equal-width bins), or every row (equal-mass)."""

    def update_grouped(self, batch, params, codes, size):
        p, y, w = batch.aux["p"], batch.target, batch.w()
        if params["binning"] == "mass":
            return PartialSums(rows=collect_grouped(np.column_stack([p, y, w]), codes, size))
        b = params["bins"]
        flat = codes * b + width_bins(p, b)

        def per_bin(values: np.ndarray) -> np.ndarray:
            return group_sum(values, flat, size * b).reshape(size, b)

        return PartialSums(
            w=per_bin(w), p=per_bin(w * p), y=per_bin(w * y), pp=per_bin(w * p * p),
            py=per_bin(w * p * y),
        )  # fmt: skip

    def _mass(self, sums, params) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(inner edges, per-bin sums) of equal-mass bins, from every kept row (memoised)."""
        rows, b = sums["rows"], params["bins"]
        memo = getattr(sums, "_mass_bins", None)  # the gradient pass asks once per batch
        if memo is not None and memo[0] == b:
            return memo[1]
        data = rows.array()
        if not len(data):
            raise ZeroWeightError()
        p, y, w = data[:, 0], data[:, 1], data[:, 2]
        positive_total(float(np.sum(w)))
        edges = mass_edges(p, w, b)
        k = np.searchsorted(edges, p, side="left")

        def per_bin(values: np.ndarray) -> np.ndarray:
            return np.bincount(k, weights=values, minlength=b)

        stats = dict(w=per_bin(w), p=per_bin(w * p), y=per_bin(w * y), pp=per_bin(w * p * p),
                     py=per_bin(w * p * y))  # fmt: skip
        try:
            sums._mass_bins = (b, (edges, stats))
        except AttributeError:  # a plain dict of sums: nothing to remember it on
            pass
        return edges, stats

    def bin_sums(self, sums, params) -> dict[str, np.ndarray]:
        if params["binning"] == "mass":
            return self._mass(sums, params)[1]
        return {k: np.asarray(sums[k], dtype=np.float64) for k in ("w", "p", "y", "pp", "py")}

    def row_bins(self, p, sums, params) -> np.ndarray:
        if params["binning"] == "mass":
            return np.searchsorted(self._mass(sums, params)[0], p, side="left")
        return width_bins(p, params["bins"])

    def compute(self, sums, params, reduction):
        s = self.bin_sums(sums, params)
        return float(self.value(s, positive_total(float(np.sum(s["w"]))), params))

    def grad(self, batch, sums, params, reduction):
        s = self.bin_sums(sums, params)
        total = positive_total(float(np.sum(s["w"])))
        k = self.row_bins(batch.aux["p"], sums, params)
        return self.chain(self.dvalue(s, total, k, batch, params), batch, params)

    def value(self, s: dict[str, np.ndarray], total: float, params: Params) -> float:
        raise NotImplementedError

    def dvalue(self, s, total: float, k: np.ndarray, batch: Batch, params: Params) -> np.ndarray:
        """∂value/∂pᵢ for the batch's rows, whose bins are ``k``."""
        raise NotImplementedError


def _means(s: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(occupied, p̄_k, ȳ_k); empty bins get 0 and are left out of every sum."""
    occupied = s["w"] > 0
    safe = np.where(occupied, s["w"], 1.0)
    return occupied, s["p"] / safe, s["y"] / safe


@register_loss(
    "ece",
    aliases=("expected_calibration_error", "calibration_error"),
    inputs="binary",
    tasks=CALIBRATION_TASKS,
    params=(BINS, BINNING),
    logits=True,
    kind="metric",
    better="lower",
    explain=Explain(
        formula="ECE = Σ_k (W_k/W) |ȳ_k − p̄_k| = Σ_k |Σ_{i∈k} wᵢ(yᵢ − pᵢ)| / Σ w over B bins of p; "
        + BINNING_TEXT,
        gradient="∂ECE/∂pᵢ = −(wᵢ/W) sign(ȳ_k − p̄_k) for pᵢ in bin k (0 when they are equal), "
        + GRADIENT_NOTE,
        use_when="you need probabilities you can read as frequencies (risk scores, thresholds "
        "chosen downstream): ECE is the mean gap between predicted and observed positive rates",
        pitfalls="depends on the binning: more bins raise ECE on small data (noise), equal-width bins "
        "can be nearly empty for confident models (try binning=mass); a model can be calibrated and "
        "useless (predicting the base rate everywhere gives ECE 0): read it with d2_brier or "
        "brier_resolution",
        activation=ACTIVATION,
        differences="torchmetrics BinaryCalibrationError(n_bins=15, norm='l1') agrees with "
        "binning=width (bins by p, right edge open, 1.0 in the last bin); it has no sample weights. "
        "This is the positive-class ECE: multi-class 'top-label' ECE uses max_c p_c and argmax "
        "accuracy instead. sklearn calibration_curve bins (lo, hi] and its strategy='quantile' "
        "interpolates the edges (np.percentile), so its bins can differ from binning=mass at ties.",
        properties="in [0, 1]; 0 when every bin's mean forecast equals its positive rate; lower is "
        "better; not a proper scoring rule",
    ),
)
class ExpectedCalibrationError(_Binned):
    """Expected calibration error of binary probabilities (equal-width or equal-mass bins)."""

    name = "ece"

    def value(self, s, total, params):
        return np.sum(np.abs(s["y"] - s["p"])) / total

    def dvalue(self, s, total, k, batch, params):
        return -batch.w() * np.sign(s["y"] - s["p"])[k] / total


BRIER_DIFFERENCES = (
    "Murphy (1973) binned decomposition; with generalized=true (the default) resolution includes "
    "the within-bin variance and covariance of Stephenson, Coelho & Jolliffe (2008) so that "
    "brier = brier_reliability − brier_resolution + brier_uncertainty exactly. Libraries that "
    "bin (e.g. verification packages) report Murphy's RES, equal to generalized=false; with "
    "forecasts on the bin grid both agree. Sample weights replace counts by Σw."
)


@register_loss(
    "brier_reliability",
    aliases=("reliability",),
    inputs="binary",
    tasks=CALIBRATION_TASKS,
    params=(BINS, BINNING),
    logits=True,
    kind="metric",
    better="lower",
    explain=Explain(
        formula="REL = Σ_k (W_k/W)(p̄_k − ȳ_k)², the calibration term of the Brier decomposition "
        "BS = REL − RES + UNC; " + BINNING_TEXT,
        gradient="∂REL/∂pᵢ = 2wᵢ(p̄_k − ȳ_k)/W for pᵢ in bin k, " + GRADIENT_NOTE,
        use_when="you want the part of the Brier score due to miscalibration (squared, where ECE "
        "takes absolute gaps)",
        pitfalls="biased upwards on small bins (noise in ȳ_k); depends on bins and binning",
        activation=ACTIVATION,
        differences=BRIER_DIFFERENCES,
        properties="≥ 0; 0 when every bin's mean forecast equals its positive rate; lower is better",
    ),
)
class BrierReliability(_Binned):
    """Reliability (calibration) term of the Brier score decomposition."""

    name = "brier_reliability"

    def value(self, s, total, params):
        occupied, pbar, ybar = _means(s)
        return np.sum(np.where(occupied, s["w"] * (pbar - ybar) ** 2, 0.0)) / total

    def dvalue(self, s, total, k, batch, params):
        _, pbar, ybar = _means(s)
        return 2.0 * batch.w() * (pbar - ybar)[k] / total


@register_loss(
    "brier_resolution",
    aliases=("resolution",),
    inputs="binary",
    tasks=CALIBRATION_TASKS,
    params=(BINS, BINNING, GENERALIZED),
    logits=True,
    kind="metric",
    better="higher",
    explain=Explain(
        formula="RES = Σ_k (W_k/W)(ȳ_k − ȳ)² − WBV + WBC, WBV = Σ w (p − p̄_k)²/W, "
        "WBC = 2 Σ w (y − ȳ_k)(p − p̄_k)/W (generalized=false: without WBV and WBC); "
        + BINNING_TEXT,
        gradient="generalized: ∂RES/∂pᵢ = 2wᵢ[(p̄_k − ȳ_k) − (pᵢ − yᵢ)]/W, "
        + GRADIENT_NOTE
        + "; Murphy's RES (generalized=false) depends on p only through the bins: 0",
        use_when="you want how much the forecasts separate rows with different outcomes "
        "(discrimination): the part of the Brier score a constant forecast cannot earn",
        pitfalls="higher is better, unlike the Brier score; the generalized form can be negative when "
        "forecasts vary within bins against the outcomes; RES ≤ UNC for Murphy's form",
        activation=ACTIVATION,
        differences=BRIER_DIFFERENCES,
        properties="higher is better; 0 for a constant forecast",
    ),
)
class BrierResolution(_Binned):
    """Resolution term of the Brier score decomposition (generalized: BS = REL − RES + UNC)."""

    name = "brier_resolution"

    def value(self, s, total, params):
        occupied, pbar, ybar = _means(s)
        overall = np.sum(s["y"]) / total
        res = np.sum(np.where(occupied, s["w"] * (ybar - overall) ** 2, 0.0)) / total
        if not params["generalized"]:
            return res
        wbv = np.sum(np.where(occupied, s["pp"] - s["w"] * pbar * pbar, 0.0)) / total
        wbc = 2.0 * np.sum(np.where(occupied, s["py"] - s["w"] * pbar * ybar, 0.0)) / total
        return res - wbv + wbc

    def dvalue(self, s, total, k, batch, params):
        if not params["generalized"]:
            return np.zeros(len(batch))
        _, pbar, ybar = _means(s)
        own = batch.aux["p"] - batch.target
        return 2.0 * batch.w() * ((pbar - ybar)[k] - own) / total


@register_loss(
    "brier_uncertainty",
    aliases=("uncertainty",),
    inputs="binary",
    tasks=CALIBRATION_TASKS,
    logits=True,
    kind="metric",
    better=None,
    explain=Explain(
        formula="UNC = ȳ(1 − ȳ), ȳ = Σ w y / Σ w: the Brier score of the constant forecast ȳ",
        gradient="0: it depends on the targets only",
        use_when="reading the Brier decomposition: BS = REL − RES + UNC, and RES ≤ UNC bounds what "
        "resolution can earn",
        pitfalls="describes the data, not the model: neither higher nor lower is better, so it takes "
        "no --fail-above or --fail-below",
        activation=ACTIVATION,
        differences="the same in every decomposition (Murphy 1973); the predictions are read only to "
        "check them.",
        properties="in [0, ¼]; ¼ for balanced classes",
    ),
)
class BrierUncertainty(_Forecasts):
    """Uncertainty term of the Brier score decomposition: ȳ(1 − ȳ)."""

    name = "brier_uncertainty"

    def update_grouped(self, batch, params, codes, size):
        w = batch.w()
        return PartialSums(w=group_sum(w, codes, size), y=group_sum(w * batch.target, codes, size))

    def compute(self, sums, params, reduction):
        ybar = float(sums["y"]) / positive_total(float(sums["w"]))
        return ybar * (1.0 - ybar)

    def grad(self, batch, sums, params, reduction):
        positive_total(float(sums["w"]))
        return (np.zeros(len(batch)),)
