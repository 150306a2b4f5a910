r"""Classification metrics: the scores of hard decisions and of rankings (scikit-learn's).

Decisions. One probability column (or logit, ``--from-logits``) with a 0/1 target is
binary: a row is predicted positive when p > t (the ``threshold``, ½ by default; with
logits z > log(t/(1 − t)), the same decision without rounding). K class columns with
integer, text or one-hot labels are K-class: the predicted class is argmax_c p_c (the
first on ties). Every decision metric is a function of the weighted confusion matrix

.. math::

    C_{ab} = Σ_{i: yᵢ = a, ŷᵢ = b} wᵢ

so it streams as K² sums (``PartialSums``) that merge by addition across batches,
groups and workers, with the unweighted count of each class among the targets and the
decisions (scikit-learn averages over the classes present, whatever their weight).

Rankings. ROC AUC and average precision need the order of all the scores, so they keep
each row's score (``Collected``, 8 bytes per row, 16 with ``--weight``: 40 and 80 MB for
5M rows), split into positive and negative rows; K classes keep the K scores and the
label (8(K + 1) bytes per row, 8(K + 2) with weights) and average the one-vs-rest
scores of the classes (macro). At the end each class's scores are sorted once and every
positive row finds, by binary search, the weight of the rows scored below it (AUC) and
at or above it (AP): O(n log n), no per-threshold arrays. Ties in the scores count one
half (the trapezoid of the ROC curve), as in scikit-learn.

Each is higher-is-better (gated by ``--fail-below``) and a step function of the
predictions: its gradient is 0 wherever it is defined.
"""

from __future__ import annotations

from losscli._lazy import np
from losscli.errors import InputError, ZeroWeightError
from losscli.kernel.grouped import group_sum, ungrouped
from losscli.kernel.numerics import softmax
from losscli.kernel.streaming import Batch, Kernel, Params, PartialSums, collect_grouped
from losscli.kernel.validate import one_hot_labels, require_binary, require_probabilities
from losscli.losses.metrics.calibration import positive_total
from losscli.losses.multiclass import prepare_multiclass
from losscli.losses.params import CHOICE, Param, unit_left_closed
from losscli.losses.registry import Explain, register_loss

THRESHOLD = Param(
    "threshold",
    0.5,
    check=unit_left_closed,
    valid="in [0, 1)",
    help="binary: a row is positive when p > threshold (one probability column only)",
)
AVERAGE = Param(
    "average",
    None,
    kind=CHOICE,
    choices=("binary", "macro", "weighted"),
    valid="binary, macro or weighted",
    help="binary: the positive class; macro: the mean over classes; weighted: by support "
    "(unset: binary for one probability column, macro for K class columns)",
)
TASKS = ("binary", "multiclass", "imbalanced")
DECISION = (
    "one probability column (0/1 target, --pos-label for text labels): positive when p > "
    "threshold (logits: z > log(t/(1 − t))); K class columns: argmax_c p_c"
)
RANKING = (
    "the scores as given: one probability column, or logits with --from-logits (ranked as "
    "their probabilities); K class columns: probabilities, or logits turned into them by softmax"
)
STEP = "0 almost everywhere: a step function of the predictions (not a training objective)"
PRESENT = (
    "classes are those present among the targets or the decisions (a class in neither is left "
    "out of the averages, as sklearn without labels=)"
)
KEEPS = (
    "keeps every row's score to rank them exactly: 8 bytes per row, 16 with --weight (40 MB "
    "and 80 MB for 5M rows); K classes keep K scores and the label, 8(K + 1) bytes per row, "
    "8(K + 2) with --weight; sorting them at the end briefly takes up to about 4× that again"
)


class _Classified(Kernel):
    """One 0/1 target with one probability (or logit) column, or labels with K columns."""

    ratio = True
    reductions = ("mean",)
    name = ""

    def prepare(self, batch: Batch, params: Params) -> Batch:
        y, x = batch.target, batch.preds[0]
        if y is None:
            raise InputError(f"{self.name} needs a target column")
        if x.ndim == 1 and y.ndim == 1:
            require_binary(y, batch)
            if not params["from_logits"]:
                require_probabilities(x, batch)
            return batch.replace(aux={"k": 1})
        if x.ndim == 2 and y.ndim == 2 and y.shape == x.shape:  # one-hot target columns
            batch = batch.replace(target=one_hot_labels(y, batch, self.name))
            y = batch.target
        if x.ndim == 2 and y.ndim == 1:
            return prepare_multiclass(batch, params, self.name, soft=False, dense=False)
        raise InputError(
            f"{self.name} takes one label column with one probability column (binary) or with "
            f"K class columns; got {y.shape[1] if y.ndim == 2 else 1} target and "
            f"{x.shape[1] if x.ndim == 2 else 1} prediction column(s)",
            hint="multilabel targets are not supported: score each label column on its own",
        )

    def update(self, batch, params):
        return ungrouped(self.update_grouped, batch, params)

    def grad(self, batch, sums, params, reduction):
        return (np.zeros_like(batch.preds[0], dtype=np.float64),)


class _Decisions(_Classified):
    """Metrics of the weighted confusion matrix of the decisions."""

    def prepare(self, batch, params):
        batch = super().prepare(batch, params)
        k = batch.aux["k"]
        if k > 1 and "threshold" in params.get("chosen", ()):
            raise InputError(
                f"threshold applies to one probability column; with {k} class columns the "
                "decision is the class of the largest one",
                hint="leave threshold out, or score one class's probability column against a "
                "0/1 target",
            )
        if k > 1 and params.get("average") == "binary":
            raise InputError(
                f"average=binary needs one probability column; there are {k} class columns",
                hint="use average=macro or average=weighted",
            )
        return batch

    def decisions(self, batch: Batch, params: Params) -> tuple[np.ndarray, np.ndarray, int]:
        """(true class, decided class, number of classes) of each prepared row."""
        x = batch.preds[0]
        if batch.aux["k"] == 1:
            t = params.get("threshold", THRESHOLD.default)
            cut = t
            if params["from_logits"]:
                cut = -np.inf if t == 0 else np.log(t / (1.0 - t))
            return batch.target.astype(np.int64), (x > cut).astype(np.int64), 2
        return batch.aux["labels"], np.argmax(x, axis=1), batch.aux["k"]

    def update_grouped(self, batch, params, codes, size):
        true, decided, k = self.decisions(batch, params)
        cells = group_sum(batch.w(), (codes * k + true) * k + decided, size * k * k)
        ones = np.ones(len(batch))
        seen = group_sum(ones, codes * k + true, size * k)
        seen = seen + group_sum(ones, codes * k + decided, size * k)
        # one probability column (binary) and K class columns keep their matrix apart
        key = "binary" if batch.aux["k"] == 1 else "cells"
        return PartialSums({key: cells.reshape(size, k, k), "seen": seen.reshape(size, k)})

    def compute(self, sums, params, reduction):
        binary = "binary" in sums
        cells = np.asarray(sums["binary" if binary else "cells"], dtype=np.float64)
        positive_total(float(cells.sum()))
        present = np.asarray(sums["seen"]) > 0
        return float(self.score(cells, present, binary, params))

    def score(self, cells: np.ndarray, present: np.ndarray, binary: bool, params: Params) -> float:
        """The metric of the confusion matrix ``cells`` (true × decided, weighted) whose
        classes ``present`` appear among the rows' targets or decisions; ``binary``: read
        from one probability column (class 1 is the positive class)."""
        raise NotImplementedError


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (sklearn's zero_division)."""
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def _marginals(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true positives, decided, true) weights per class: diag C, Σ_a C_ab, Σ_b C_ab."""
    return np.diag(cells), cells.sum(axis=0), cells.sum(axis=1)


class _Averaged(_Decisions):
    """Precision, recall and F1: one value per class, then the positive class's (binary),
    their mean over the classes present (macro) or their mean weighted by support."""

    def per_class(self, tp: np.ndarray, decided: np.ndarray, true: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def score(self, cells, present, binary, params):
        tp, decided, true = _marginals(cells)
        values = self.per_class(tp, decided, true)
        average = params.get("average") or ("binary" if binary else "macro")
        if average == "binary":
            return values[1]
        if average == "weighted":
            return np.sum(values * true) / positive_total(float(true.sum()))
        return np.mean(values[present])


AVERAGES = (
    "average=binary (one probability column's default): the positive class's value; macro (the "
    "K-column default): the mean over classes; weighted: the mean weighted by each class's "
    "weighted support Σ_{y=c} w"
)
DECISION_DIFFERENCES = (
    "sklearn {function} agrees (1e-12) on the decisions (p > threshold, or argmax), with "
    "sample_weight as --weight; undefined ratios (no row decided or no row of a class) are 0 as "
    "its zero_division default (without the warning); " + PRESENT + "."
)


def _decision_text(what: str) -> dict[str, str]:
    return dict(
        use_when=f"you report {what} of hard decisions beside a loss, or gate it in CI with "
        "--fail-below",
        activation=DECISION,
        gradient=STEP,
    )


@register_loss(
    "accuracy",
    aliases=("accuracy_score", "acc"),
    inputs="binary",
    tasks=TASKS,
    params=(THRESHOLD,),
    logits=True,
    kind="metric",
    better="higher",
    explain=Explain(
        formula="accuracy = Σ wᵢ [ŷᵢ = yᵢ] / Σ wᵢ = trace C / Σ C",
        pitfalls="misleading under class imbalance (predicting the majority class scores its "
        "share): read balanced_accuracy or mcc beside it; depends on the threshold",
        differences=DECISION_DIFFERENCES.format(function="accuracy_score"),
        properties="in [0, 1]; higher is better",
        **_decision_text("the share of correct decisions"),
    ),
)
class Accuracy(_Decisions):
    """Accuracy: the weighted share of rows whose decision is their class."""

    name = "accuracy"

    def score(self, cells, present, binary, params):
        return np.trace(cells) / cells.sum()


@register_loss(
    "balanced_accuracy",
    aliases=("balanced_accuracy_score",),
    inputs="binary",
    tasks=TASKS,
    params=(THRESHOLD,),
    logits=True,
    kind="metric",
    better="higher",
    explain=Explain(
        formula="balanced accuracy = mean over classes c with Σ_{y=c} w > 0 of recall_c, "
        "recall_c = C_cc / Σ_b C_cb",
        pitfalls="a class that appears only among the decisions is left out (sklearn warns); "
        "depends on the threshold",
        differences="sklearn balanced_accuracy_score agrees (1e-12), sample_weight as --weight, "
        "adjusted=False.",
        properties="in [0, 1]; 1/K for a constant decision; higher is better",
        **_decision_text("the mean recall of the classes (robust to imbalance)"),
    ),
)
class BalancedAccuracy(_Decisions):
    """Balanced accuracy: the mean recall over the classes present among the targets."""

    name = "balanced_accuracy"

    def score(self, cells, present, binary, params):
        tp, _, true = _marginals(cells)
        held = true > 0
        return np.mean(tp[held] / true[held])


def _averaged(name, aliases, formula, pitfalls, function, what):
    return register_loss(
        name,
        aliases=aliases,
        inputs="binary",
        tasks=TASKS,
        params=(THRESHOLD, AVERAGE),
        logits=True,
        kind="metric",
        better="higher",
        explain=Explain(
            formula=f"{formula}; {AVERAGES}",
            pitfalls=pitfalls,
            differences=DECISION_DIFFERENCES.format(function=function)
            + " The aliases NAME_macro and NAME_weighted set average, as sklearn's scorer names.",
            properties="in [0, 1]; higher is better",
            **_decision_text(what),
        ),
    )


@_averaged(
    "precision",
    ("precision_score", "precision_macro", "precision_weighted"),
    "precision_c = C_cc / Σ_a C_ac (of the rows decided c, the share that are c)",
    "ignores the rows of a class that were missed (read recall beside it); a class never "
    "decided scores 0",
    "precision_score",
    "how many of the rows decided positive are positive",
)
class Precision(_Averaged):
    """Precision: of the rows decided as a class, the weighted share that are of it."""

    name = "precision"

    def per_class(self, tp, decided, true):
        return _ratio(tp, decided)


@_averaged(
    "recall",
    ("recall_score", "sensitivity", "recall_macro", "recall_weighted"),
    "recall_c = C_cc / Σ_b C_cb (of the rows of class c, the share decided c)",
    "rewards deciding the class everywhere (read precision beside it)",
    "recall_score",
    "how many of the positive rows are found",
)
class Recall(_Averaged):
    """Recall: of the rows of a class, the weighted share decided as it."""

    name = "recall"

    def per_class(self, tp, decided, true):
        return _ratio(tp, true)


@_averaged(
    "f1",
    ("f1_score", "f1_macro", "f1_weighted"),
    "F1_c = 2 C_cc / (Σ_a C_ac + Σ_b C_cb), the harmonic mean of precision_c and recall_c",
    "ignores the true negatives; the macro mean of per-class F1 is not the F1 of macro "
    "precision and recall",
    "f1_score",
    "one number that balances precision and recall",
)
class F1(_Averaged):
    """F1: the harmonic mean of precision and recall, per class."""

    name = "f1"

    def per_class(self, tp, decided, true):
        return _ratio(2.0 * tp, decided + true)


@register_loss(
    "mcc",
    aliases=("matthews_corrcoef", "matthews_correlation", "phi_coefficient"),
    inputs="binary",
    tasks=TASKS,
    params=(THRESHOLD,),
    logits=True,
    kind="metric",
    better="higher",
    explain=Explain(
        formula="MCC = (c·s − Σ_k p_k t_k) / √((s² − Σ_k p_k²)(s² − Σ_k t_k²)), c = trace C, "
        "s = Σ C, t_k = Σ_b C_kb, p_k = Σ_a C_ak (binary: (TP·TN − FP·FN) / "
        "√((TP+FP)(TP+FN)(TN+FP)(TN+FN))); 0 when a factor under the root is 0",
        pitfalls="0 for a constant decision whatever its accuracy; depends on the threshold",
        differences="sklearn matthews_corrcoef agrees (1e-12), sample_weight as --weight, "
        "binary and K-class (Gorodkin's R_K).",
        properties="in [−1, 1]; 1 perfect, 0 no better than chance, −1 always wrong (binary); "
        "symmetric in the classes; higher is better",
        **_decision_text(
            "a correlation of decisions and classes that stays honest under imbalance"
        ),
    ),
)
class MatthewsCorrelation(_Decisions):
    """Matthews correlation coefficient of the decisions (binary and K-class)."""

    name = "mcc"

    def score(self, cells, present, binary, params):
        tp, decided, true = _marginals(cells)
        s = decided.sum()
        covariance = np.sum(tp) * s - np.dot(true, decided)
        spread = (s**2 - np.dot(decided, decided)) * (s**2 - np.dot(true, true))
        return 0.0 if spread == 0 else covariance / np.sqrt(spread)


def _kept(collected) -> tuple[np.ndarray, np.ndarray | None]:
    """(values, weights or None) of kept rows: one column, or the value and its weight."""
    rows = collected.array()
    rows = rows.reshape(-1, 1) if rows.ndim == 1 else rows  # nothing kept: (0, 1)
    return rows[:, 0], (rows[:, 1] if rows.shape[1] == 2 else None)


class _SortedScores:
    """Scores sorted ascending with their running weight: W(< s) and W(≤ s) for any s
    by binary search, in O(log n) per query and without a copy per query.

    The order of equal scores does not matter (a query counts all of them or none), so
    the sort need not be stable; ``weights`` are the weights in the sorted order."""

    def __init__(self, scores: np.ndarray, weights: np.ndarray | None) -> None:
        order = np.argsort(scores)
        self.scores = scores[order]
        self.weights = None if weights is None else weights[order]
        self.running = None if weights is None else np.cumsum(self.weights)
        self.total = float(
            len(scores) if weights is None else self.running[-1] if len(order) else 0
        )

    def below(self, at: np.ndarray, inclusive: bool = False) -> np.ndarray:
        """The weight of the scores < ``at`` (≤ with ``inclusive``), for each value of ``at``."""
        k = np.searchsorted(self.scores, at, side="right" if inclusive else "left")
        if self.running is None:
            return k.astype(np.float64)
        return np.where(k > 0, self.running[np.maximum(k - 1, 0)], 0.0)


class _Ranking(_Classified):
    """Metrics of the order of the scores: every row's score is kept (``Collected``)."""

    @staticmethod
    def kept_bytes(columns: int, weighted: bool) -> int:
        """Bytes kept per row: the score (one column) or the K scores and the label, and
        the weight when there is one (float64 each)."""
        return 8 * ((1 if columns == 1 else columns + 1) + weighted)

    def update_grouped(self, batch, params, codes, size):
        x, w = batch.preds[0], batch.weights
        if batch.aux["k"] == 1:
            y = batch.target == 1
            rows = x[:, None] if w is None else np.column_stack([x, w])
            return PartialSums(
                positive=collect_grouped(rows[y], codes[y], size),
                negative=collect_grouped(rows[~y], codes[~y], size),
            )
        p = softmax(x) if params["from_logits"] else x
        labels = batch.aux["labels"].astype(np.float64)[:, None]
        return PartialSums(
            scores=collect_grouped(p, codes, size),
            labels=collect_grouped(
                labels if w is None else np.column_stack([labels, w]), codes, size
            ),
        )

    def compute(self, sums, params, reduction):
        if "scores" not in sums:
            (pos, wp), (neg, wn) = _kept(sums["positive"]), _kept(sums["negative"])
            return float(self.binary(pos, wp, neg, wn, ""))
        labels, w = _kept(sums["labels"])
        if not len(labels):
            raise ZeroWeightError()
        scores = sums["scores"].array()
        values = []
        for c in range(scores.shape[1]):
            mine = labels == c
            values.append(
                self.binary(
                    scores[mine, c],
                    None if w is None else w[mine],
                    scores[~mine, c],
                    None if w is None else w[~mine],
                    f" of class {c} (prediction column {c + 1}) against the others",
                )
            )
        return float(np.mean(values))

    def binary(self, pos: np.ndarray, wp, neg: np.ndarray, wn, of: str) -> float:
        """The metric of the positive rows' scores ``pos`` (weights ``wp``, None for 1)
        against the negative rows' ``neg`` (``wn``)."""
        positives, negatives = _SortedScores(pos, wp), _SortedScores(neg, wn)
        if not (positives.total > 0 and negatives.total > 0):
            missing = "positive" if not positives.total > 0 else "negative"
            raise InputError(
                f"{self.name}{of} is undefined: the rows scored hold no {missing} row "
                "(with a positive weight)",
                hint="score rows of both classes (with --group, every group needs both)",
            )
        # the positive rows in score order: sorted queries make each binary search start
        # where the last one ended (several times faster on millions of rows)
        weights = np.ones(len(pos)) if wp is None else positives.weights
        return self.ranked(positives.scores, weights, positives, negatives)

    def ranked(
        self, pos: np.ndarray, wp: np.ndarray, positives: _SortedScores, negatives: _SortedScores
    ) -> float:
        """The metric from each positive row's score and weight (in score order), and both
        classes sorted."""
        raise NotImplementedError


RANKING_PITFALLS = (
    "undefined (an error) when the rows scored lack positive or negative rows, for any class "
    "of a K-class score; "
)


@register_loss(
    "roc_auc",
    aliases=("roc_auc_score", "auc", "auroc", "roc_auc_ovr"),
    inputs="binary",
    tasks=TASKS,
    logits=True,
    kind="metric",
    better="higher",
    explain=Explain(
        formula="AUC = Σ_{i: yᵢ=1} Σ_{j: yⱼ=0} wᵢwⱼ ([sᵢ > sⱼ] + ½[sᵢ = sⱼ]) / (Σ_{y=1} w · Σ_{y=0} w), "
        "the area under the ROC curve (trapezoids: ties count ½); K classes: the mean over c of "
        "the AUC of p_c for class c against the others (one-vs-rest, macro)",
        gradient=STEP,
        use_when="you need how well the scores rank positive rows above negative ones, whatever "
        "the threshold",
        pitfalls=RANKING_PITFALLS + "blind to calibration (any increasing transform of the scores "
        "scores the same); " + KEEPS,
        activation=RANKING,
        differences="sklearn roc_auc_score agrees (1e-12), sample_weight as --weight; K classes "
        "as its multi_class='ovr', average='macro' with labels 0..K−1 (sklearn raises where a "
        "class has no rows, as losscli does). Exact: no binning of the scores (torchmetrics' "
        "thresholds=None). Memory: " + KEEPS + ".",
        properties="in [0, 1]; ½ for scores that do not rank; higher is better",
    ),
)
class RocAuc(_Ranking):
    """ROC AUC: the weighted probability that a positive row outranks a negative one."""

    name = "roc_auc"

    def ranked(self, pos, wp, positives, negatives):
        # each positive row outranks the negatives below it, and ties with half of its equals
        below = negatives.below(pos) + negatives.below(pos, inclusive=True)
        return np.sum(wp * below) / (2.0 * positives.total * negatives.total)


@register_loss(
    "average_precision",
    aliases=("average_precision_score", "ap", "pr_auc"),
    inputs="binary",
    tasks=TASKS,
    logits=True,
    kind="metric",
    better="higher",
    explain=Explain(
        formula="AP = Σ_n (R_n − R_{n−1}) P_n over the distinct scores s_n in decreasing order, "
        "P_n and R_n the weighted precision and recall of the rows scored ≥ s_n (no "
        "interpolation); K classes: the mean over c of AP of p_c for class c (one-vs-rest, macro)",
        gradient=STEP,
        use_when="positives are rare and you care about the top of the ranking (retrieval, fraud, "
        "screening): AP summarises the precision–recall curve",
        pitfalls=RANKING_PITFALLS + "its floor is the positive rate, not ½; " + KEEPS,
        activation=RANKING,
        differences="sklearn average_precision_score agrees (1e-12), sample_weight as --weight; "
        "K classes as its average='macro' over label_binarize(y) (every class present). Not the "
        "trapezoidal area under the PR curve (sklearn auc(recall, precision)), which is "
        "optimistic. sklearn returns 0 with a warning when there is no positive row; losscli "
        "refuses. Memory: " + KEEPS + ".",
        properties="in [0, 1]; the positive rate for scores that do not rank; higher is better",
    ),
)
class AveragePrecision(_Ranking):
    """Average precision: the precision at each positive row's score, averaged by weight."""

    name = "average_precision"

    def ranked(self, pos, wp, positives, negatives):
        # precision of the rows scored ≥ each positive row's score, weighted by its weight
        hits = positives.total - positives.below(pos)
        decided = hits + negatives.total - negatives.below(pos)
        return np.sum(wp * _ratio(hits, decided)) / positives.total
