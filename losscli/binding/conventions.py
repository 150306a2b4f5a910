"""How PyTorch, Keras, scikit-learn and optax define each loss, as data.

One ``Convention`` per (loss, library) that the library defines: the library's own
function, the parameter values and kernel options that reproduce its value and
gradient, what differs from losscli's default, and where that is written in the
library's code or docs, and ``defined``: the line of the library's source that defines the
function (``Definition``; the link is built from ``PINS``, one pinned version per library, in
``Definition.url`` alone). ``--convention LIB`` binds every selected loss through its
record (explicit parameters still win); a loss the library lacks is a usage error
that names the libraries that have it; ``losscli explain NAME`` prints the records.

Kernel options (set only through a record, never user parameters) and what reads them.
Each loss declares the options it takes (``Loss.options``, ``losscli.losses.params``);
binding a record whose option its loss does not declare is an error:

- ``denominator``: the mean's divisor, Σdᵢ over rows (``streaming.Elementwise``):
  ``count`` — n rows (Keras ``sum_over_batch_size``; ``--reduction mean_with_sample_weight``
  drops it, Keras's Σw·L/Σw); ``class`` — Σ sᵢ·c_{yᵢ}, each row's
  sample weight times its class weight (scikit-learn, where class weights are passed
  as sample weights); ``label_class`` — the same for integer labels, Σ sᵢ for target
  columns (PyTorch ``weight=`` with class-index targets).
- ``bce_clip="log100"``: log p and log(1 − p) clamped at −100 instead of clipping p,
  with PyTorch's backward (p − y)/max(p(1 − p), 1e-12) (bce on probabilities).
  ``bce_clip="float32"``: p clipped to [eps, 1 − eps] with both bounds rounded to float32
  (Keras's float32 tensors).
- ``rmse_per_output``: the mean of per-column RMSEs (scikit-learn's multioutput).
- ``mape_scale``: 1 for a fraction instead of percent.  ``log1p_floor``: msle's
  log(max(x, floor) + 1).
- ``kl_mean_over_classes``: the mean divides by n·K (PyTorch ``reduction='mean'``).
  ``kl_pointwise``: Σ t·(log t − x) as given, targets only ≥ 0, rows unchecked (PyTorch).
  ``kl_clip``: both distributions clipped to [eps, 1], softmax for logits (Keras).
  ``kl_targets_as_given``: target rows not summing to 1 used as they are (optax).
- ``focal_form="keras"``: Keras's focal losses (probability space, clipped; the binary
  focal factor from the unclipped p; the categorical one multiplied by
  ``focal_categorical_alpha``). ``sigmoid_only``: the function has no K-class form.
- ``renormalize``: probability rows divided by their sum first (Keras cross-entropy).
- ``rows_as_given``: probability rows not summing to 1 used as they are (scikit-learn's
  log_loss and brier_score_loss, which warn), not refused.
- ``brier_classes``: brier on one label column with K probability columns, Σ_c (p_c − t_c)²
  halved for K = 2 (scikit-learn's multiclass brier_score_loss).
- ``categorical_hinge``: Keras's max over (1 − t)·s, which includes the true class's 0.
- ``smooth_numerator=False``, ``class_average="micro"``, ``smooth_scale``: overlap ratios.
  ``overlap_any_values``: mask/prediction columns not range-checked (Keras).
- ``error_scale``: Lᵢ = c·e² (optax's l2_loss, c = ½; selected by the name ``l2``).
- ``neg_inf_logits``: logits of −inf accepted, a class with t = 0 there adds 0 (optax's
  safe_softmax_cross_entropy; selected by that name).
- ``eps_in_difference`` / ``eps_in_root``: triplet distances ‖a − p + ε‖ / √(‖a − p‖² + ε).
- ``variance_grad="through_clamp"``: gaussian_nll's variance gradient at max(v, eps).
- ``cosine_offset``: c in cosine_distance's c − cos (Keras: 0, so −cos).
- ``circle_mask``: circle's rows with Lᵢ = 0 leave the mean (Keras's mask); ``circle_any_norm``:
  embeddings not required to have unit norm (Keras).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from losscli.binding.libraries import LIBRARIES, TITLES, normalize_library
from losscli.errors import UsageError

# Float64 machine epsilon: scikit-learn's clipping floor (log_loss) and MAPE floor.
FLOAT64_EPS = 2.220446049250313e-16
# keras.backend.epsilon(), the floor of every Keras clip.
KERAS_EPSILON = 1e-7
# Keras 3 l2-normalises with x·rsqrt(max(‖x‖², ε²)): the squared norm's floor.
KERAS_EPSILON_SQUARED = 1e-14
# Keras's generalized cross-entropy does not clip p: the smallest normal float64 as the floor.
KERAS_GCE_EPS = 2.2250738585072014e-308

KERAS_MEAN = "keras-team/keras: keras/src/losses/loss.py (reduce_values)"
KERAS_DIVIDES_BY_N = (
    "with --weight the mean divides by n (Keras's default reduction 'sum_over_batch_size'), "
    "not Σw; --reduction mean_with_sample_weight is Keras's Σw·L/Σw"
)


@dataclass(frozen=True)
class Pin:
    """The one version of a library's repository that every link into it points at."""

    #: ``owner/name`` on GitHub
    repo: str
    #: the tag or full commit the links use
    ref: str
    #: the version as ``explain`` and the docs name it
    label: str


#: The pinned version per package, the first directory of a linked file's path (PyTorch's
#: focal loss is torchvision's, in its own repository). Line numbers are read from these
#: versions: scikit-learn and PyTorch as installed, Keras and optax at the commit their
#: own-test fixtures were taken from, torchvision at the commit whose file was read.
PINS: dict[str, Pin] = {
    "torch": Pin("pytorch/pytorch", "v2.13.0", "PyTorch 2.13.0"),
    "torchvision": Pin(
        "pytorch/vision",
        "148ddaaa5d27abc8300dbb4e689d1aea31892930",
        "torchvision at commit 148ddaa",
    ),
    "keras": Pin(
        "keras-team/keras",
        "3422977a5e38fb2f7709aaa9a08e47f0c43d0f60",
        "Keras 3.16.0.dev at commit 3422977",
    ),
    "sklearn": Pin("scikit-learn/scikit-learn", "1.9.1", "scikit-learn 1.9.1"),
    "optax": Pin(
        "google-deepmind/optax",
        "2edbcbe2390da13983b92cbef94ac0460ecde1c5",
        "optax 0.2.9.dev at commit 2edbcbe",
    ),
}


@dataclass(frozen=True)
class Definition:
    """The line where a library defines a record's function: ``path`` in the library's
    repository (its first directory picks the pin), the ``def``/``class`` line, the name."""

    path: str
    line: int
    name: str

    @property
    def pin(self) -> Pin:
        return PINS[self.path.split("/", 1)[0]]

    @property
    def url(self) -> str:
        """The permalink: ``https://github.com/OWNER/REPO/blob/REF/PATH#LLINE``."""
        return f"https://github.com/{self.pin.repo}/blob/{self.pin.ref}/{self.path}#L{self.line}"


@dataclass(frozen=True)
class Convention:
    """One library's definition of one loss, and how losscli reproduces it."""

    loss: str
    library: str
    function: str
    differs: str = ""
    source: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    #: how the library reads the prediction columns by default (None: as --from-logits says)
    from_logits: bool | None = None
    #: printed to stderr when the convention reads the columns differently
    note: str = ""
    #: where the library defines ``function`` (one entry per function it names)
    defined: tuple[Definition, ...] = ()
    #: the positive class of a binary numeric target when --pos-label is not given:
    #: "greater" — scikit-learn's rule (``sklearn_positive``); "" — the target must be 0/1
    pos_label: str = ""

    @property
    def title(self) -> str:
        return TITLES[self.library]

    @property
    def url(self) -> str:
        """The permalink to the (first) function's definition; empty if none is recorded."""
        return self.defined[0].url if self.defined else ""


def _keras(loss: str, function: str, differs: str = "", source: str = "", **kw: Any) -> Convention:
    """A Keras loss: its sample-weighted mean divides by n unless the record says otherwise."""
    options = {"denominator": "count", **kw.pop("options", {})}
    text = "; ".join(t for t in (differs, KERAS_DIVIDES_BY_N) if t)
    sources = "; ".join(s for s in (source, KERAS_MEAN) if s)
    return Convention(loss, "keras", function, text, sources, options=options, **kw)


_TORCH_LOSS = "pytorch/pytorch: aten/src/ATen/native/Loss.cpp"
_TORCH_NLL = "pytorch/pytorch: aten/src/ATen/native/LossNLL.cpp"
_TORCH_F = "pytorch/pytorch: torch/nn/functional.py"
_KERAS = "keras-team/keras: keras/src/losses/losses.py"
_KERAS_JAX = "keras-team/keras: keras/src/backend/jax/nn.py"
_OPTAX_CLS = "google-deepmind/optax: optax/losses/_classification.py"
_OPTAX_REG = "google-deepmind/optax: optax/losses/_regression.py"
_OPTAX_SEG = "google-deepmind/optax: optax/losses/_segmentation.py"
_SK_CLS = "scikit-learn/scikit-learn: sklearn/metrics/_classification.py"
_SK_REG = "scikit-learn/scikit-learn: sklearn/metrics/_regression.py"
_SK_RANK = "scikit-learn/scikit-learn: sklearn/metrics/_ranking.py"
_TORCH_DOC = "https://pytorch.org/docs/stable/generated/torch.nn.{}.html"
# The files that define the functions, for ``Definition`` (line numbers at the pinned versions).
_DEF_TORCH = "torch/nn/functional.py"
_DEF_KERAS = "keras/src/losses/losses.py"
_DEF_SK_REG = "sklearn/metrics/_regression.py"
_DEF_SK_CLS = "sklearn/metrics/_classification.py"
_DEF_SK_RANK = "sklearn/metrics/_ranking.py"
_DEF_OPTAX_REG = "optax/losses/_regression.py"
_DEF_OPTAX_CLS = "optax/losses/_classification.py"
_DEF_SK_LOG_LOSS = Definition(_DEF_SK_CLS, 3321, "log_loss")
_DEF_OPTAX_DICE = Definition("optax/losses/_segmentation.py", 37, "dice_loss")

_SKLEARN_CLASS_WEIGHTS = (
    "no class weights: --class-weights act as sample weights (compute_sample_weight), "
    "so the mean divides by Σ w_y instead of n"
)


def _sklearn_log_loss(
    loss: str, function: str, differs: str, options: Mapping[str, Any] | None = None
) -> Convention:
    """scikit-learn's log_loss: p clipped at float64 machine epsilon, and class weights passed
    as sample weights, so the mean divides by Σ w_y."""
    return Convention(
        loss,
        "sklearn",
        function,
        differs,
        f"{_SK_CLS} (log_loss, _log_loss)",
        params={"eps": FLOAT64_EPS},
        options={"denominator": "class", **(options or {})},
        defined=(_DEF_SK_LOG_LOSS,),
    )


def _keras_overlap(
    loss: str, function: str, differs: str, defined: tuple[Definition, ...]
) -> Convention:
    """A Keras overlap ratio: smooth 1e-7 in the denominator only, classes pooled (axis=None),
    mask and prediction columns used as they are."""
    return Convention(
        loss,
        "keras",
        function,
        f"{differs}; mask and prediction values outside [0, 1] are used as they are "
        "(losscli's default refuses them)",
        f"{_KERAS} ({loss})",
        params={"smooth": KERAS_EPSILON},
        options={"smooth_numerator": False, "class_average": "micro", "overlap_any_values": True},
        defined=defined,
    )


def _optax_overlap(
    loss: str, function: str, differs: str, options: Mapping[str, Any] | None = None
) -> Convention:
    """optax's dice_loss: smooth = 1, and logits by default (apply_softmax=True)."""
    return Convention(
        loss,
        "optax",
        function,
        differs,
        f"{_OPTAX_SEG} (dice_loss)",
        params={"smooth": 1.0},
        options=options or {},
        from_logits=True,
        note="predictions are read as logits (optax's apply_softmax=True); "
        "add --no-from-logits for probabilities",
        defined=(_DEF_OPTAX_DICE,),
    )


_TORCH_LOGITS_ONLY = (
    "takes logits; on probability columns losscli evaluates it at log p, with p clipped at eps"
)

RECORDS: tuple[Convention, ...] = (
    # --- regression ---------------------------------------------------------------
    Convention(
        "mse",
        "torch",
        "torch.nn.functional.mse_loss",
        source=_TORCH_DOC.format("MSELoss"),
        defined=(Definition(_DEF_TORCH, 4245, "mse_loss"),),
    ),
    _keras(
        "mse",
        "keras.losses.MeanSquaredError",
        defined=(Definition(_DEF_KERAS, 53, "MeanSquaredError"),),
    ),
    Convention(
        "mse",
        "sklearn",
        "sklearn.metrics.mean_squared_error",
        source=f"{_SK_REG} (mean_squared_error)",
        defined=(Definition(_DEF_SK_REG, 524, "mean_squared_error"),),
    ),
    Convention(
        "mse",
        "optax",
        "optax.losses.squared_error",
        source=f"{_OPTAX_REG} (squared_error, where l2_loss is ½e²)",
        defined=(Definition(_DEF_OPTAX_REG, 24, "squared_error"),),
    ),
    Convention(
        "rmse",
        "keras",
        "keras.metrics.RootMeanSquaredError",
        source="keras-team/keras: keras/src/metrics/regression_metrics.py (RootMeanSquaredError: a "
        "Mean metric, Σwx/Σw)",
        defined=(
            Definition("keras/src/metrics/regression_metrics.py", 184, "RootMeanSquaredError"),
        ),
    ),
    Convention(
        "rmse",
        "sklearn",
        "sklearn.metrics.root_mean_squared_error",
        "with several target columns the RMSE of each column is averaged "
        "(multioutput='uniform_average'), not the root of the mean over all columns",
        f"{_SK_REG} (root_mean_squared_error)",
        options={"rmse_per_output": True},
        defined=(Definition(_DEF_SK_REG, 616, "root_mean_squared_error"),),
    ),
    Convention(
        "mae",
        "torch",
        "torch.nn.functional.l1_loss",
        source=_TORCH_DOC.format("L1Loss"),
        defined=(Definition(_DEF_TORCH, 4169, "l1_loss"),),
    ),
    _keras(
        "mae",
        "keras.losses.MeanAbsoluteError",
        defined=(Definition(_DEF_KERAS, 102, "MeanAbsoluteError"),),
    ),
    Convention(
        "mae",
        "sklearn",
        "sklearn.metrics.mean_absolute_error",
        source=f"{_SK_REG} (mean_absolute_error)",
        defined=(Definition(_DEF_SK_REG, 225, "mean_absolute_error"),),
    ),
    Convention(
        "huber",
        "torch",
        "torch.nn.functional.huber_loss",
        source=_TORCH_DOC.format("HuberLoss"),
        defined=(Definition(_DEF_TORCH, 4081, "huber_loss"),),
    ),
    _keras(
        "huber",
        "keras.losses.Huber",
        source=f"{_KERAS} (huber)",
        defined=(Definition(_DEF_KERAS, 304, "Huber"),),
    ),
    Convention(
        "huber",
        "optax",
        "optax.losses.huber_loss",
        source=f"{_OPTAX_REG} (huber_loss)",
        defined=(Definition(_DEF_OPTAX_REG, 77, "huber_loss"),),
    ),
    Convention(
        "smooth_l1",
        "torch",
        "torch.nn.functional.smooth_l1_loss",
        "torch also accepts beta = 0 (plain L1); losscli requires beta > 0",
        f"{_TORCH_LOSS} (smooth_l1_loss_out)",
        defined=(Definition(_DEF_TORCH, 4010, "smooth_l1_loss"),),
    ),
    _keras(
        "log_cosh",
        "keras.losses.LogCosh",
        source=f"{_KERAS} (log_cosh)",
        defined=(Definition(_DEF_KERAS, 361, "LogCosh"),),
    ),
    Convention(
        "log_cosh",
        "optax",
        "optax.losses.log_cosh",
        source=f"{_OPTAX_REG} (log_cosh)",
        defined=(Definition(_DEF_OPTAX_REG, 112, "log_cosh"),),
    ),
    _keras(
        "msle",
        "keras.losses.MeanSquaredLogarithmicError",
        "log(max(x, 1e-7) + 1) for both y and ŷ: y = 0 counts as 1e-7, and ŷ below 1e-7 gets "
        "gradient 0; negative values count as 1e-7 too (losscli's default refuses them)",
        f"{_KERAS} (mean_squared_logarithmic_error)",
        options={"log1p_floor": KERAS_EPSILON},
        defined=(Definition(_DEF_KERAS, 203, "MeanSquaredLogarithmicError"),),
    ),
    Convention(
        "msle",
        "sklearn",
        "sklearn.metrics.mean_squared_log_error",
        "sklearn accepts values above −1; losscli requires values ≥ 0",
        f"{_SK_REG} (mean_squared_log_error)",
        defined=(Definition(_DEF_SK_REG, 701, "mean_squared_log_error"),),
    ),
    Convention(
        "rmsle",
        "sklearn",
        "sklearn.metrics.root_mean_squared_log_error",
        "with several target columns the root of each column's MSLE is averaged "
        "(multioutput='uniform_average'), not the root of the mean over all columns; sklearn "
        "accepts values above −1, losscli requires values ≥ 0",
        f"{_SK_REG} (root_mean_squared_log_error)",
        options={"rmse_per_output": True},
        defined=(Definition(_DEF_SK_REG, 790, "root_mean_squared_log_error"),),
    ),
    _keras(
        "mape",
        "keras.losses.MeanAbsolutePercentageError",
        source=f"{_KERAS} (mean_absolute_percentage_error: 100·|e|/max(|y|, 1e-7))",
        defined=(Definition(_DEF_KERAS, 151, "MeanAbsolutePercentageError"),),
    ),
    Convention(
        "mape",
        "sklearn",
        "sklearn.metrics.mean_absolute_percentage_error",
        "a fraction, not percent (÷100), with eps = float64 machine epsilon (2.22e-16) "
        "instead of 1e-7",
        f"{_SK_REG} (mean_absolute_percentage_error)",
        params={"eps": FLOAT64_EPS},
        options={"mape_scale": 1.0},
        defined=(Definition(_DEF_SK_REG, 419, "mean_absolute_percentage_error"),),
    ),
    Convention(
        "quantile",
        "sklearn",
        "sklearn.metrics.mean_pinball_loss",
        "sklearn names the quantile 'alpha' (default 0.5, as here)",
        f"{_SK_REG} (mean_pinball_loss)",
        defined=(Definition(_DEF_SK_REG, 320, "mean_pinball_loss"),),
    ),
    Convention(
        "poisson",
        "torch",
        "torch.nn.functional.poisson_nll_loss",
        "log_input=True by default: the predictions are log-rates, L = e^z − y·z; for rates "
        "(log_input=False, --no-from-logits) L = ŷ − y·log(ŷ + 1e-8), eps 1e-8 instead of 1e-7",
        f"{_TORCH_LOSS} (poisson_nll_loss)",
        params={"eps": 1e-8},
        from_logits=True,
        note="predictions are read as log-rates (PyTorch's log_input=True); "
        "add --no-from-logits for rates",
        defined=(Definition(_DEF_TORCH, 3241, "poisson_nll_loss"),),
    ),
    _keras(
        "poisson",
        "keras.losses.Poisson",
        source=f"{_KERAS} (poisson: ŷ − y·log(ŷ + 1e-7))",
        defined=(Definition(_DEF_KERAS, 570, "Poisson"),),
    ),
    Convention(
        "gaussian_nll",
        "torch",
        "torch.nn.functional.gaussian_nll_loss",
        "the variance is clamped at eps under no_grad, so below eps the variance gradient is "
        "½(1/eps − e²/eps²), not 0",
        f"{_TORCH_F} (gaussian_nll_loss)",
        options={"variance_grad": "through_clamp"},
        defined=(Definition(_DEF_TORCH, 3301, "gaussian_nll_loss"),),
    ),
    Convention(
        "tweedie",
        "sklearn",
        "sklearn.metrics.mean_tweedie_deviance",
        "power defaults to 0 (the squared error), not 1.5",
        f"{_SK_REG} (mean_tweedie_deviance, _mean_tweedie_deviance)",
        params={"power": 0.0},
        defined=(Definition(_DEF_SK_REG, 1410, "mean_tweedie_deviance"),),
    ),
    Convention(
        "d2_tweedie",
        "sklearn",
        "sklearn.metrics.d2_tweedie_score, r2_score (power 0)",
        "power defaults to 0 (R², r2_score), not 1.5; several target columns average the "
        "per-column D² (multioutput='uniform_average'), as here",
        f"{_SK_REG} (d2_tweedie_score, r2_score)",
        params={"power": 0.0},
        defined=(
            Definition(_DEF_SK_REG, 1594, "d2_tweedie_score"),
            Definition(_DEF_SK_REG, 1157, "r2_score"),
        ),
    ),
    Convention(
        "d2_pinball",
        "sklearn",
        "sklearn.metrics.d2_pinball_score",
        "sklearn names the quantile 'alpha' (default 0.5, as here)",
        f"{_SK_REG} (d2_pinball_score)",
        defined=(Definition(_DEF_SK_REG, 1711, "d2_pinball_score"),),
    ),
    Convention(
        "d2_absolute_error",
        "sklearn",
        "sklearn.metrics.d2_absolute_error_score",
        source=f"{_SK_REG} (d2_absolute_error_score)",
        defined=(Definition(_DEF_SK_REG, 1882, "d2_absolute_error_score"),),
    ),
    Convention(
        "r2",
        "sklearn",
        "sklearn.metrics.r2_score",
        "several target columns average the per-column R² (multioutput='uniform_average'), as here",
        f"{_SK_REG} (r2_score)",
        defined=(Definition(_DEF_SK_REG, 1157, "r2_score"),),
    ),
    # --- classification metrics: sklearn takes the decisions, losscli makes them -----
    *(
        Convention(
            name,
            "sklearn",
            f"sklearn.metrics.{function}",
            "sklearn scores decided labels; losscli decides them from the scores (p > "
            "threshold for one column, argmax for K columns) and scores them as sklearn does",
            f"{_SK_CLS} ({function})",
            defined=(Definition(_DEF_SK_CLS, line, function),),
        )
        for name, function, line in (
            ("accuracy", "accuracy_score", 340),
            ("balanced_accuracy", "balanced_accuracy_score", 2855),
            ("precision", "precision_score", 2498),
            ("recall", "recall_score", 2681),
            ("f1", "f1_score", 1448),
            ("mcc", "matthews_corrcoef", 1252),
        )
    ),
    Convention(
        "roc_auc",
        "sklearn",
        "sklearn.metrics.roc_auc_score",
        "K class columns: multi_class='ovr', average='macro' (sklearn refuses K columns without "
        "multi_class)",
        f"{_SK_RANK} (roc_auc_score)",
        defined=(Definition(_DEF_SK_RANK, 511, "roc_auc_score"),),
    ),
    Convention(
        "average_precision",
        "sklearn",
        "sklearn.metrics.average_precision_score",
        "no positive row is an error here; sklearn returns 0 with a warning",
        f"{_SK_RANK} (average_precision_score)",
        defined=(Definition(_DEF_SK_RANK, 128, "average_precision_score"),),
    ),
    # --- binary classification -----------------------------------------------------
    Convention(
        "bce",
        "torch",
        "torch.nn.functional.binary_cross_entropy (probabilities), "
        "binary_cross_entropy_with_logits (--from-logits)",
        "on probabilities log p and log(1 − p) are clamped at −100 (each term at most 100) "
        "instead of clipping p at 1e-7, and the gradient is (p − y)/max(p(1 − p), 1e-12) "
        "even where the clamp is active; no label smoothing",
        f"{_TORCH_LOSS} (binary_cross_entropy_out_cpu, binary_cross_entropy_backward_out_cpu)",
        options={"bce_clip": "log100"},
        defined=(
            Definition(_DEF_TORCH, 3566, "binary_cross_entropy"),
            Definition(_DEF_TORCH, 3628, "binary_cross_entropy_with_logits"),
        ),
    ),
    _keras(
        "bce",
        "keras.losses.BinaryCrossentropy",
        "p clipped to [1e-7, 1 − 1e-7] in float32, where 1 − 1e-7 rounds to 1 − 1.19e-7 (p = 1 "
        "with y = 0 costs 15.94, not 16.12); label smoothing toward ½, as here",
        f"{_KERAS} (binary_crossentropy); {_KERAS_JAX} (binary_crossentropy)",
        options={"bce_clip": "float32"},
        defined=(Definition(_DEF_KERAS, 606, "BinaryCrossentropy"),),
    ),
    _sklearn_log_loss(
        "bce",
        "sklearn.metrics.log_loss",
        "p clipped at float64 machine epsilon (2.22e-16: at most 36.04 per row) instead of "
        f"1e-7; {_SKLEARN_CLASS_WEIGHTS}; one label column",
    ),
    Convention(
        "bce",
        "optax",
        "optax.losses.sigmoid_binary_cross_entropy",
        "takes logits; on probability columns losscli evaluates it at logit(p), with p clipped "
        "at eps",
        f"{_OPTAX_CLS} (sigmoid_binary_cross_entropy)",
        defined=(Definition(_DEF_OPTAX_CLS, 47, "sigmoid_binary_cross_entropy"),),
    ),
    Convention(
        "weighted_bce",
        "torch",
        "torch.nn.functional.binary_cross_entropy(weight=w_y per element), "
        "binary_cross_entropy_with_logits (--from-logits)",
        "the mean divides by n, as here; on probabilities log p and log(1 − p) are clamped at "
        "−100 instead of clipping p, with the gradient w_y(p − y)/max(p(1 − p), 1e-12)",
        f"{_TORCH_LOSS} (binary_cross_entropy_out_cpu, binary_cross_entropy_backward_out_cpu)",
        options={"bce_clip": "log100"},
        defined=(
            Definition(_DEF_TORCH, 3566, "binary_cross_entropy"),
            Definition(_DEF_TORCH, 3628, "binary_cross_entropy_with_logits"),
        ),
    ),
    _keras(
        "weighted_bce",
        "keras.losses.BinaryCrossentropy with Model.fit(class_weight=)",
        "class weights become sample weights and the mean divides by n, as here; p clipped to "
        "[1e-7, 1 − 1e-7] in float32 as for bce (1 − 1e-7 rounds to 1 − 1.19e-7)",
        f"{_KERAS} (binary_crossentropy); {_KERAS_JAX} (binary_crossentropy)",
        options={"bce_clip": "float32"},
        defined=(Definition(_DEF_KERAS, 606, "BinaryCrossentropy"),),
    ),
    _sklearn_log_loss(
        "weighted_bce",
        "sklearn.metrics.log_loss(sample_weight=w_y)",
        f"{_SKLEARN_CLASS_WEIGHTS}; p clipped at float64 machine epsilon instead of 1e-7",
    ),
    Convention(
        "brier",
        "sklearn",
        "sklearn.metrics.brier_score_loss",
        "one label column with K probability columns (named by class) scores Σ_c (p_c − t_c)², "
        "halved for K = 2 (scale_by_half='auto'), rows not summing to 1 used as they are "
        "(sklearn warns); without --pos-label a "
        "numeric target that is not 0/1 takes sklearn's positive class: 1 of {−1, 1}, else the "
        "greater of two labels, and a lone label is positive unless it is 0 or −1 (the whole "
        "target column is read first to know its labels); text labels need --pos-label, as in "
        "sklearn",
        f"{_SK_CLS} (brier_score_loss, _validate_binary_probabilistic_prediction)",
        options={"brier_classes": True, "rows_as_given": True},
        pos_label="greater",
        defined=(Definition(_DEF_SK_CLS, 3713, "brier_score_loss"),),
    ),
    Convention(
        "d2_log_loss",
        "sklearn",
        "sklearn.metrics.d2_log_loss_score",
        "p clipped at float64 machine epsilon (log_loss's clip) instead of 1e-7; the null model "
        "predicts the (weighted) class shares, as here",
        f"{_SK_CLS} (d2_log_loss_score)",
        params={"eps": FLOAT64_EPS},
        defined=(Definition(_DEF_SK_CLS, 3869, "d2_log_loss_score"),),
    ),
    Convention(
        "d2_brier",
        "sklearn",
        "sklearn.metrics.d2_brier_score",
        "the null model predicts the (weighted) class shares, as here, scored row by row as "
        "sklearn does (so each row's target and weight are kept in memory, (K + 1)·8 bytes "
        "per row); a binary numeric target that is not 0/1 takes brier_score_loss's positive "
        "class without --pos-label",
        f"{_SK_CLS} (d2_brier_score, _validate_binary_probabilistic_prediction)",
        pos_label="greater",
        options={"null_row_by_row": True},
        defined=(Definition(_DEF_SK_CLS, 3993, "d2_brier_score"),),
    ),
    Convention(
        "focal",
        "torch",
        "torchvision.ops.sigmoid_focal_loss",
        "alpha = 0.25 by default (always on: α for positives, 1 − α for negatives); sigmoid "
        "(binary, multilabel) only; takes logits (on probabilities losscli evaluates it at "
        "logit(p), p clipped at eps)",
        "pytorch/vision: torchvision/ops/focal_loss.py (sigmoid_focal_loss)",
        params={"alpha": 0.25},
        options={"sigmoid_only": "torchvision.ops.sigmoid_focal_loss"},
        defined=(Definition("torchvision/ops/focal_loss.py", 5, "sigmoid_focal_loss"),),
    ),
    _keras(
        "focal",
        "keras.losses.BinaryFocalCrossentropy, CategoricalFocalCrossentropy",
        "binary: alpha only with apply_class_balancing=True (unset here, as losscli), the focal "
        "factor (1 − p_t)^γ from the unclipped p while log p is clipped at 1e-7, and logits go "
        "through sigmoid and that clip; K classes: every term multiplied by alpha = 0.25 (a "
        "list with --class-weights: 0.25·w_c), p = softmax or p/Σp clipped to [1e-7, 1 − 1e-7]; "
        "label_smoothing ε (Keras's only: losscli's default refuses it) smooths the target "
        "before the focal factor: binary ỹ = y(1 − ε) + ε/2 in the bce, in 1 − p_t = ỹ(1 − p) + "
        "(1 − ỹ)p and in α_t; K classes t̃_c = (1 − ε)δ_cy + ε/K, so every class adds "
        "α(1 − p_c)^γ·(−t̃_c log p_c), each with its own focal factor",
        f"{_KERAS} (binary_focal_crossentropy, categorical_focal_crossentropy)",
        options={"focal_form": "keras", "focal_categorical_alpha": 0.25},
        defined=(
            Definition(_DEF_KERAS, 732, "BinaryFocalCrossentropy"),
            Definition(_DEF_KERAS, 1024, "CategoricalFocalCrossentropy"),
        ),
    ),
    Convention(
        "focal",
        "optax",
        "optax.losses.sigmoid_focal_loss",
        "alpha = None by default, as here; sigmoid (binary, multilabel) only; takes logits (on "
        "probabilities losscli evaluates it at logit(p), p clipped at eps)",
        f"{_OPTAX_CLS} (sigmoid_focal_loss)",
        options={"sigmoid_only": "optax.losses.sigmoid_focal_loss"},
        defined=(Definition(_DEF_OPTAX_CLS, 871, "sigmoid_focal_loss"),),
    ),
    _keras(
        "hinge",
        "keras.losses.Hinge",
        "maps {0, 1} to {−1, 1} when every label is 0 or 1, as here",
        f"{_KERAS} (hinge, convert_binary_labels_to_hinge)",
        defined=(Definition(_DEF_KERAS, 402, "Hinge"),),
    ),
    Convention(
        "hinge",
        "sklearn",
        "sklearn.metrics.hinge_loss",
        "the greater of two labels is +1, as here",
        f"{_SK_CLS} (hinge_loss)",
        defined=(Definition(_DEF_SK_CLS, 3470, "hinge_loss"),),
    ),
    Convention(
        "hinge",
        "optax",
        "optax.losses.hinge_loss",
        "expects targets in {−1, 1}; losscli maps 0/1 targets first (the same as passing 2y − 1)",
        f"{_OPTAX_CLS} (hinge_loss)",
        defined=(Definition(_DEF_OPTAX_CLS, 98, "hinge_loss"),),
    ),
    _keras(
        "squared_hinge",
        "keras.losses.SquaredHinge",
        source=f"{_KERAS} (squared_hinge)",
        defined=(Definition(_DEF_KERAS, 444, "SquaredHinge"),),
    ),
    Convention(
        "perceptron",
        "optax",
        "optax.losses.perceptron_loss",
        "expects targets in {−1, 1}; losscli maps 0/1 targets first (the same as passing 2y − 1)",
        f"{_OPTAX_CLS} (perceptron_loss)",
        defined=(Definition(_DEF_OPTAX_CLS, 113, "perceptron_loss"),),
    ),
    Convention(
        "sparsemax",
        "optax",
        "optax.losses.sparsemax_loss",
        "labels 0/1 (jnp.where(labels, −s, s)); ±1 targets are read the same way here",
        f"{_OPTAX_CLS} (sparsemax_loss)",
        defined=(Definition(_DEF_OPTAX_CLS, 133, "sparsemax_loss"),),
    ),
    # --- multi-class -----------------------------------------------------------------
    _keras(
        "multi_hinge",
        "keras.losses.CategoricalHinge",
        "max(0, 1 + max_c (1 − t_c)·s_c − s_y): the max includes the true class's 0, so "
        "scores [−3, −2, −5] with y = 1 give 3, not 0; one-hot target columns are taken as they "
        "are, so an all-zero row gives max(0, 1 + max_c s_c) (losscli's default refuses it)",
        f"{_KERAS} (categorical_hinge)",
        options={"categorical_hinge": True},
        defined=(Definition(_DEF_KERAS, 485, "CategoricalHinge"),),
    ),
    Convention(
        "multi_hinge",
        "sklearn",
        "sklearn.metrics.hinge_loss (multiclass)",
        "Crammer–Singer with margin 1, as here",
        f"{_SK_CLS} (hinge_loss)",
        defined=(Definition(_DEF_SK_CLS, 3470, "hinge_loss"),),
    ),
    Convention(
        "multi_hinge",
        "optax",
        "optax.losses.multiclass_hinge_loss",
        "margin 1, as here",
        f"{_OPTAX_CLS} (multiclass_hinge_loss)",
        defined=(Definition(_DEF_OPTAX_CLS, 442, "multiclass_hinge_loss"),),
    ),
    Convention(
        "multiclass_sparsemax",
        "optax",
        "optax.losses.multiclass_sparsemax_loss",
        source=f"{_OPTAX_CLS} (multiclass_sparsemax_loss, _multiclass_sparsemax_loss)",
        defined=(Definition(_DEF_OPTAX_CLS, 977, "multiclass_sparsemax_loss"),),
    ),
    Convention(
        "multi_margin",
        "torch",
        "torch.nn.functional.multi_margin_loss",
        source=_TORCH_DOC.format("MultiMarginLoss"),
        defined=(Definition(_DEF_TORCH, 4609, "multi_margin_loss"),),
    ),
    Convention(
        "cross_entropy",
        "torch",
        "torch.nn.functional.cross_entropy",
        "with --class-weights and integer labels the mean divides by Σ w_y over the rows not "
        "ignored (label smoothing included), not by n; target columns divide by n; "
        + _TORCH_LOGITS_ONLY,
        f"{_TORCH_NLL} (cross_entropy_loss_label_smoothing, cross_entropy_loss_prob_target); "
        "https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html",
        options={"denominator": "label_class"},
        defined=(Definition(_DEF_TORCH, 3472, "cross_entropy"),),
    ),
    _keras(
        "cross_entropy",
        "keras.losses.CategoricalCrossentropy, SparseCategoricalCrossentropy",
        "probability rows are divided by their sum before clipping to [1e-7, 1 − 1e-7] (so the "
        "gradient has an extra Σt/Σp per row); class weights (fit(class_weight=)) divide by n",
        f"{_KERAS} (categorical_crossentropy); {_KERAS_JAX} (categorical_crossentropy)",
        options={"renormalize": True},
        defined=(
            Definition(_DEF_KERAS, 920, "CategoricalCrossentropy"),
            Definition(_DEF_KERAS, 1178, "SparseCategoricalCrossentropy"),
        ),
    ),
    _sklearn_log_loss(
        "cross_entropy",
        "sklearn.metrics.log_loss",
        "p clipped at float64 machine epsilon instead of 1e-7; rows not summing to 1 are used "
        "as they are (sklearn warns; losscli's default refuses them); "
        f"{_SKLEARN_CLASS_WEIGHTS}",
        options={"rows_as_given": True},
    ),
    Convention(
        "cross_entropy",
        "optax",
        "optax.losses.softmax_cross_entropy, softmax_cross_entropy_with_integer_labels",
        "per-example values averaged by the caller, as here; takes logits (on probability "
        "columns losscli evaluates it at log p, p clipped at eps); label smoothing is "
        "optax.smooth_labels, t(1 − ls) + ls/K as here; a logit of −inf gives NaN in optax and "
        "is refused here (--loss safe_softmax_cross_entropy takes it)",
        f"{_OPTAX_CLS} (softmax_cross_entropy); google-deepmind/optax: optax/losses/_smoothing.py",
        defined=(
            Definition(_DEF_OPTAX_CLS, 237, "softmax_cross_entropy"),
            Definition(_DEF_OPTAX_CLS, 311, "softmax_cross_entropy_with_integer_labels"),
        ),
    ),
    Convention(
        "poly1_cross_entropy",
        "optax",
        "optax.losses.poly_loss_cross_entropy",
        "softmax CE + ε·(1 − Σ t·softmax), ε = 2 by default, as here; takes logits (on "
        "probability columns losscli evaluates it at log p, p clipped at eps); no label "
        "smoothing or ignore index in optax",
        f"{_OPTAX_CLS} (poly_loss_cross_entropy)",
        defined=(Definition(_DEF_OPTAX_CLS, 491, "poly_loss_cross_entropy"),),
    ),
    Convention(
        "nll",
        "torch",
        "torch.nn.functional.nll_loss",
        "with --class-weights the mean divides by Σ w_y over the rows not ignored, not by n",
        f"{_TORCH_DOC.format('NLLLoss')}; {_TORCH_NLL}",
        options={"denominator": "label_class"},
        defined=(Definition(_DEF_TORCH, 3174, "nll_loss"),),
    ),
    Convention(
        "kl_div",
        "torch",
        "torch.nn.functional.kl_div",
        "reduction 'mean' (the default) divides by n·K, the number of elements: not the KL "
        "('batchmean', losscli's default, is); the input is log-probabilities (log_input=true "
        "takes them as they are; --from-logits applies log_softmax); the sum of "
        "t·(log t − x) is taken as given: targets need only be ≥ 0 (log-targets any real), "
        "log-inputs any real, and rows need not sum to 1 (losscli's default refuses them)",
        f"{_TORCH_LOSS} (_kl_div_non_log_target, kl_div_backward_cpu); {_TORCH_F} (kl_div)",
        options={"kl_mean_over_classes": True, "kl_pointwise": True},
        defined=(Definition(_DEF_TORCH, 3395, "kl_div"),),
    ),
    _keras(
        "kl_div",
        "keras.losses.KLDivergence",
        "both distributions clipped to [1e-7, 1], so t = 0 adds 1e-7·log(1e-7/p) instead of 0; "
        "rows need not sum to 1, and one target and one prediction column (K = 1, Keras's last "
        "axis of size 1) give t̂·log(t̂/p̂) per row (losscli's default refuses both); "
        "takes probabilities (with --from-logits losscli applies softmax first)",
        f"{_KERAS} (kl_divergence)",
        options={"kl_clip": True},
        defined=(Definition(_DEF_KERAS, 528, "KLDivergence"),),
    ),
    Convention(
        "kl_div",
        "optax",
        "optax.losses.kl_divergence",
        "takes log-predictions (log_input=true takes them as they are); 0·log 0 = 0 and the "
        "per-example values are averaged by the caller, as here; target rows that do not sum "
        "to 1 are used as they are (losscli's default refuses them)",
        f"{_OPTAX_CLS} (kl_divergence)",
        options={"kl_targets_as_given": True},
        defined=(Definition(_DEF_OPTAX_CLS, 551, "kl_divergence"),),
    ),
    Convention(
        "generalized_kl_div",
        "optax",
        "optax.losses.generalized_kl_divergence",
        "takes log-predictions: log_input=true by default (add log_input=false for p itself)",
        f"{_OPTAX_CLS} (generalized_kl_divergence)",
        params={"log_input": True},
        defined=(Definition(_DEF_OPTAX_CLS, 621, "generalized_kl_divergence"),),
    ),
    _keras(
        "generalized_cross_entropy",
        "keras.losses.CategoricalGeneralizedCrossEntropy",
        "q = 0.5 by default, not 0.7; p_y is not clipped (p_y = 0 gives 1/q): reproduced with "
        "eps = the smallest normal float64; integer labels and probabilities",
        f"{_KERAS} (categorical_generalized_cross_entropy: (1 − p_y^q)/q)",
        params={"q": 0.5, "eps": KERAS_GCE_EPS},
        defined=(Definition(_DEF_KERAS, 1534, "CategoricalGeneralizedCrossEntropy"),),
    ),
    # --- segmentation -----------------------------------------------------------------
    _keras_overlap(
        "dice",
        "keras.losses.Dice",
        "J = 1 − 2Σyp/(Σy + Σp + 1e-7): no smoothing in the numerator (an empty mask scores 1, "
        "not 0) and 1e-7 in the denominator; K classes are pooled into one ratio (axis=None), "
        "not averaged",
        defined=(Definition(_DEF_KERAS, 1300, "Dice"),),
    ),
    _optax_overlap(
        "dice",
        "optax.losses.dice_loss",
        "J = 1 − (I + s)/(I + ½FP + ½FN + s) with s = smooth = 1: losscli's form with 2s; "
        "predictions are logits by default (apply_softmax=True); optax averages per sample "
        "(--group IMAGE gives each image's value)",
        options={"smooth_scale": 2.0},
    ),
    _keras_overlap(
        "tversky",
        "keras.losses.Tversky",
        "J = 1 − TP/(TP + αFP + βFN + 1e-7): no smoothing in the numerator and 1e-7 in the "
        "denominator; K classes are pooled into one ratio (axis=None), not averaged",
        defined=(Definition(_DEF_KERAS, 1374, "Tversky"),),
    ),
    _optax_overlap(
        "tversky",
        "optax.losses.dice_loss(alpha, beta)",
        "smooth = 1 by default; predictions are logits by default (apply_softmax=True); optax "
        "averages per sample (--group IMAGE gives each image's value)",
    ),
    # --- similarity -------------------------------------------------------------------
    Convention(
        "triplet",
        "torch",
        "torch.nn.functional.triplet_margin_loss",
        "on embeddings d = ‖a − p + 1e-6‖₂: eps is added to every coordinate of the "
        "difference (a = p gives 1e-6·√D); distance columns are used as they are",
        f"{_TORCH_LOSS} (triplet_margin_loss); pytorch/pytorch: aten/src/ATen/native/"
        "Distance.cpp (pairwise_distance)",
        options={"eps_in_difference": 1e-6},
        defined=(Definition(_DEF_TORCH, 5951, "triplet_margin_loss"),),
    ),
    Convention(
        "triplet",
        "optax",
        "optax.losses.triplet_margin_loss",
        "on embeddings d = √(‖a − p‖² + 1e-6): eps inside the root; distance columns are "
        "used as they are",
        "google-deepmind/optax: optax/losses/_self_supervised.py (triplet_margin_loss)",
        options={"eps_in_root": 1e-6},
        defined=(Definition("optax/losses/_self_supervised.py", 130, "triplet_margin_loss"),),
    ),
    Convention(
        "margin_ranking",
        "torch",
        "torch.nn.functional.margin_ranking_loss",
        source=f"{_TORCH_LOSS} (margin_ranking_loss)",
        defined=(Definition(_DEF_TORCH, 4323, "margin_ranking_loss"),),
    ),
    _keras(
        "cosine_distance",
        "keras.losses.CosineSimilarity",
        "−cos, not 1 − cos: 1 lower (perfect alignment gives −1), the same gradient; the squared "
        "norms are floored at 1e-14 (keras.backend.epsilon()², x·rsqrt(max(‖x‖², ε²))), so a "
        "zero vector gives cos = 0 where losscli's default refuses the row",
        f"{_KERAS} (cosine_similarity); keras-team/keras: keras/src/ops/nn.py (_normalize)",
        params={"eps": KERAS_EPSILON_SQUARED},
        options={"cosine_offset": 0.0},
        defined=(Definition(_DEF_KERAS, 247, "CosineSimilarity"),),
    ),
    Convention(
        "cosine_distance",
        "optax",
        "optax.losses.cosine_distance",
        "per-example 1 − cos averaged by the caller, as here; epsilon (a floor of the squared "
        "norms) is eps, 0 by default as here: optax gives NaN for a zero vector where losscli "
        "refuses the row",
        f"{_OPTAX_REG} (cosine_distance, cosine_similarity)",
        defined=(Definition(_DEF_OPTAX_REG, 195, "cosine_distance"),),
    ),
    Convention(
        "cosine_similarity",
        "torch",
        "torch.nn.functional.cosine_similarity(dim=1)",
        "each norm clamped at eps = 1e-8 (x1·x2/(max(‖x1‖, 1e-8)·max(‖x2‖, 1e-8))): the squared "
        "norms floored at 1e-16, so a zero vector gives 0; per row, averaged here",
        _TORCH_DOC.format("functional.cosine_similarity"),
        params={"eps": 1e-16},
        defined=(Definition(_DEF_TORCH, 5869, "cosine_similarity"),),
    ),
    Convention(
        "cosine_similarity",
        "keras",
        "keras.metrics.CosineSimilarity",
        "+cos, a metric (Σw·cos/Σw); the loss keras.losses.CosineSimilarity is −cos: --loss "
        "cosine_distance --convention keras; squared norms floored at 1e-14 (zero vector: 0)",
        "keras-team/keras: keras/src/metrics/regression_metrics.py (cosine_similarity); "
        "keras-team/keras: keras/src/ops/nn.py (_normalize)",
        params={"eps": KERAS_EPSILON_SQUARED},
        defined=(Definition("keras/src/metrics/regression_metrics.py", 250, "CosineSimilarity"),),
    ),
    Convention(
        "cosine_similarity",
        "optax",
        "optax.losses.cosine_similarity",
        "+cos per example, a similarity (higher is better) although optax files it among the "
        "losses; its loss is optax.losses.cosine_distance = 1 − cos (cosine_distance); epsilon "
        "is eps, 0 by default as here (optax: NaN for a zero vector, losscli refuses the row)",
        f"{_OPTAX_REG} (cosine_similarity)",
        defined=(Definition(_DEF_OPTAX_REG, 141, "cosine_similarity"),),
    ),
    Convention(
        "circle",
        "keras",
        "keras.losses.Circle",
        "rows with Lᵢ = 0 (no positive or no negative pair) are masked (circle_loss > 0), so the "
        "mean is Σwᵢ·Lᵢ divided by the number of rows with Lᵢ > 0, not by Σw; embeddings of any "
        "norm are used as they are (losscli's default refuses rows whose norm is not 1)",
        f"{_KERAS} (circle, build_pos_neg_masks); {KERAS_MEAN}; keras-team/keras: "
        "keras/src/losses/loss.py (apply_mask)",
        options={"denominator": "count", "circle_mask": True, "circle_any_norm": True},
        defined=(Definition(_DEF_KERAS, 1442, "Circle"),),
    ),
    Convention(
        "cosine_embedding",
        "torch",
        "torch.nn.functional.cosine_embedding_loss",
        "1e-12 added to the squared norms, as here",
        f"{_TORCH_LOSS} (cosine_embedding_loss)",
        defined=(Definition(_DEF_TORCH, 4562, "cosine_embedding_loss"),),
    ),
)

_INDEX: dict[tuple[str, str], Convention] = {(r.loss, r.library): r for r in RECORDS}

# Names that select another function of the same library than the loss's own record: optax
# has both squared_error (mse) and l2_loss (½ of it), and softmax_cross_entropy besides
# safe_softmax_cross_entropy. Keyed by (the name as given, library).
ALIAS_RECORDS: dict[tuple[str, str], Convention] = {
    ("l2", "optax"): Convention(
        "mse",
        "optax",
        "optax.losses.l2_loss",
        "½e²: half of squared_error (which --loss mse gives under --convention optax); "
        "without --convention, and under the other libraries, l2 is an alias of mse",
        f"{_OPTAX_REG} (l2_loss: 0.5 * squared_error)",
        options={"error_scale": 0.5},
        defined=(Definition(_DEF_OPTAX_REG, 55, "l2_loss"),),
    ),
    ("safe_softmax_cross_entropy", "optax"): Convention(
        "cross_entropy",
        "optax",
        "optax.losses.safe_softmax_cross_entropy",
        "logit columns may hold −inf: a class with t = 0 and z = −inf adds 0 (0·log 0 = 0), "
        "one with t > 0 makes the row's loss inf; a row whose logits are all −inf is refused "
        "(optax's log_softmax gives NaN there); softmax_cross_entropy (--loss cross_entropy) "
        "gives NaN for any −inf logit and losscli refuses it",
        f"{_OPTAX_CLS} (safe_softmax_cross_entropy, weighted_logsoftmax)",
        options={"neg_inf_logits": True},
        defined=(Definition(_DEF_OPTAX_CLS, 213, "safe_softmax_cross_entropy"),),
    ),
    ("multiclass_perceptron", "optax"): Convention(
        "multi_hinge",
        "optax",
        "optax.losses.multiclass_perceptron_loss",
        "max_c s_c − s_y: the Crammer–Singer hinge with margin 0 (the name sets it; "
        "--loss multi_hinge is multiclass_hinge_loss, margin 1)",
        f"{_OPTAX_CLS} (multiclass_perceptron_loss)",
        params={"margin": 0.0},
        defined=(Definition(_DEF_OPTAX_CLS, 467, "multiclass_perceptron_loss"),),
    ),
}
# Aliases whose form only the libraries in ALIAS_RECORDS define (not the loss's other records).
ALIAS_ONLY = {"safe_softmax_cross_entropy", "multiclass_perceptron"}


def _alias_key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def alias_records(loss: str) -> list[tuple[str, Convention]]:
    """(name, record) of the names that select another function for ``loss``."""
    return [(alias, r) for (alias, _), r in ALIAS_RECORDS.items() if r.loss == loss]


def for_loss(loss: str) -> list[Convention]:
    """The records of one loss, in the order of ``LIBRARIES``."""
    return [_INDEX[(loss, lib)] for lib in LIBRARIES if (loss, lib) in _INDEX]


def lookup_alias(name: str, loss: str, library: str) -> Convention | None:
    """The record that the name ``name`` of ``loss`` selects in ``library`` (``ALIAS_RECORDS``:
    l2 under optax is optax.losses.l2_loss), None when the name selects the loss's own record;
    a usage error for a name only other libraries define (safe_softmax_cross_entropy)."""
    library = normalize_library(library)
    alias = _alias_key(name)
    if (alias, library) in ALIAS_RECORDS:
        return ALIAS_RECORDS[(alias, library)]
    if alias in ALIAS_ONLY:
        have = [f"{r.library} ({r.function})" for a, r in alias_records(loss) if a == alias]
        raise UsageError(
            f"--convention {library}: {TITLES[library]} has no {alias}; {', '.join(have)} "
            "defines it",
            hint=f"--loss {loss} for {TITLES[library]}'s own; 'losscli explain {loss}' compares "
            "them",
        )
    return None


def lookup(loss: str, library: str) -> Convention:
    """The record of ``loss`` in ``library``; a usage error naming who has it otherwise."""
    library = normalize_library(library)
    record = _INDEX.get((loss, library))
    if record is not None:
        return record
    others = for_loss(loss)
    if others:
        have = [f"{r.library} ({r.function})" for r in others]
        names = have[0] if len(have) == 1 else ", ".join(have[:-1]) + " and " + have[-1]
        verb = "defines" if len(have) == 1 else "define"
        message = f"--convention {library}: {TITLES[library]} has no {loss}; {names} {verb} it"
    else:
        names = ", ".join(LIBRARIES)
        message = (
            f"--convention {library}: {TITLES[library]} has no {loss}; none of {names} defines it"
        )
    raise UsageError(
        message,
        hint=f"drop --convention for losscli's definition; 'losscli explain {loss}' compares them",
    )
