"""Valid random inputs for every registered loss, in each of its input forms.

``CASES[name]`` lists factories ``f(rng, n) -> Case``. The gradient and chunking
tests run over every registered name and fail for a loss that has no case here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Case:
    loss: str
    y: np.ndarray | None
    preds: tuple[np.ndarray, ...]
    params: dict[str, Any] = field(default_factory=dict)
    from_logits: bool | None = False
    convention: str | None = None

    @property
    def y_pred(self):
        return self.preds if len(self.preds) > 1 else self.preds[0]


def _dirichlet(rng, n, k):
    return rng.dirichlet(np.ones(k) * 2.0, size=n)


def _reg(loss, **params):
    def make(rng, n):
        y = rng.normal(0, 2, n)
        return Case(loss, y, (y + rng.normal(0, 1.5, n),), params)

    return make


def _reg_multi(loss, **params):
    def make(rng, n):
        y = rng.normal(0, 2, (n, 3))
        return Case(loss, y, (y + rng.normal(0, 1.5, (n, 3)),), params)

    return make


def _positive_reg(loss, **params):
    def make(rng, n):
        return Case(loss, rng.uniform(0.1, 5, n), (rng.uniform(0.2, 5, n),), params)

    return make


def _positive_reg_multi(loss, **params):
    def make(rng, n):
        return Case(loss, rng.uniform(0.1, 5, (n, 3)), (rng.uniform(0.2, 5, (n, 3)),), params)

    return make


def _mape(rng, n):
    y = rng.uniform(0.5, 3, n) * rng.choice([-1, 1], n)
    return Case("mape", y, (y + rng.normal(0, 1, n),))


def _poisson(rng, n):
    return Case("poisson", rng.poisson(3, n).astype(float), (rng.uniform(0.5, 5, n),))


def _poisson_logits(rng, n):
    return Case(
        "poisson", rng.poisson(3, n).astype(float), (rng.normal(0, 1, n),), from_logits=True
    )


def _poisson_full(logits):
    def make(rng, n):
        y = rng.poisson(3, n).astype(float)
        y[:3] = [0.0, 1.0, 1.5]  # the Stirling term is 0 up to y = 1
        x = rng.normal(0, 1, n) if logits else rng.uniform(0.5, 5, n)
        return Case("poisson", y, (x,), {"full": True}, logits)

    return make


def _gaussian(rng, n, **params):
    y = rng.normal(0, 1, n)
    var = rng.uniform(0.2, 2, n)
    mean = y + rng.normal(0, 1, n)
    var[::5] = 1e-8  # below eps: clamped, zero variance gradient
    mean[::5] = y[::5] + 1e-4  # keeps e²/eps small, so J (and the FD round-off) stays O(1)
    return Case("gaussian_nll", y, (mean, var), params)


def _gaussian_full(rng, n):
    return _gaussian(rng, n, full=True)


def _deviance(loss, zeros):
    def make(rng, n):
        y = rng.uniform(0.1, 5, n)
        if zeros:
            y[::4] = 0.0
        return Case(loss, y, (rng.uniform(0.2, 5, n),))

    return make


def _tweedie(power, zeros):
    def make(rng, n):
        y = rng.uniform(0.1, 5, n)
        if zeros:
            y[::4] = 0.0
        return Case("tweedie", y, (rng.uniform(0.2, 5, n),), {"power": power})

    return make


def _tweedie_score(power, zeros):
    def make(rng, n):
        case = _tweedie(power, zeros)(rng, n)
        case.loss = "d2_tweedie"
        return case

    return make


def _binary(loss, logits=False, m=None, **params):
    def make(rng, n):
        shape = (n,) if m is None else (n, m)
        y = rng.integers(0, 2, shape).astype(float)
        x = rng.normal(0, 3, shape) if logits else rng.uniform(0.03, 0.97, shape)
        return Case(loss, y, (x,), params, logits)

    return make


def _soft_bce(rng, n):
    return Case("bce", rng.uniform(0, 1, n), (rng.uniform(0.03, 0.97, n),))


def _margin(loss, pm1):
    def make(rng, n):
        y = rng.integers(0, 2, n).astype(float)
        if pm1:
            y = 2 * y - 1
        return Case(loss, y, (rng.normal(0, 2, n),))

    return make


def _multiclass(loss, logits=False, k=4, target="labels", **params):
    def make(rng, n):
        labels = rng.integers(0, k, n)
        x = rng.normal(0, 2, (n, k)) if logits else _dirichlet(rng, n, k)
        if target == "labels":
            y = labels.astype(float)
            if "ignore_index" in params:
                y[::6] = params["ignore_index"]
        elif target == "onehot":
            y = np.eye(k)[labels]
        else:
            y = _dirichlet(rng, n, k)
        return Case(loss, y, (x,), params, logits)

    return make


def _every_class(loss, logits=False, k=4, onehot=False):
    """K-class rows in which every class has rows (one-vs-rest scores need each class)."""

    def make(rng, n):
        labels = rng.permutation(np.arange(n) % k)
        x = rng.normal(0, 2, (n, k)) if logits else _dirichlet(rng, n, k)
        y = np.eye(k)[labels] if onehot else labels.astype(float)
        return Case(loss, y, (x,), {}, logits)

    return make


def _nll(**params):
    def make(rng, n):
        k = 4
        z = rng.normal(0, 2, (n, k))
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        y = rng.integers(0, k, n).astype(float)
        if "ignore_index" in params:
            y[::5] = params["ignore_index"]
        return Case("nll", y, (logp,), params)

    return make


def _kl(logits=False, zeros=False, loss="kl_div", log_target=False):
    def make(rng, n):
        t = _dirichlet(rng, n, 4)
        if zeros:
            t[::3, 0] = 0.0
            t = t / t.sum(axis=1, keepdims=True)
        x = rng.normal(0, 2, (n, 4)) if logits else _dirichlet(rng, n, 4)
        if log_target:
            return Case(loss, np.log(t), (x,), {"log_target": True}, logits)
        return Case(loss, t, (x,), {}, logits)

    return make


def _scores(loss, **params):
    def make(rng, n):
        return Case(loss, rng.integers(0, 4, n).astype(float), (rng.normal(0, 1, (n, 4)),), params)

    return make


def _generalized_kl(log_input=False, zeros=False):
    def make(rng, n):
        t = rng.uniform(0.0, 2.0, (n, 4))  # non-negative measures: rows need not sum to 1
        if zeros:
            t[::3, 1] = 0.0
        x = rng.uniform(0.1, 3.0, (n, 4))
        if log_input:
            return Case("generalized_kl_div", t, (np.log(x),), {"log_input": True})
        return Case("generalized_kl_div", t, (x,))

    return make


def _sparse_scores(rng, n):
    """Scores spread wide enough that sparsemax puts exact zeros in most rows."""
    return Case(
        "multiclass_sparsemax", rng.integers(0, 4, n).astype(float), (rng.normal(0, 3, (n, 4)),)
    )


def _overlap(loss, form, logits=False, **params):
    def make(rng, n):
        k = 3
        if form == "binary":
            y = (rng.uniform(size=n) < 0.3).astype(float)
            x = rng.normal(0, 2, n) if logits else rng.uniform(0.02, 0.98, n)
        elif form == "labels":
            y = rng.integers(0, k, n).astype(float)
            x = rng.normal(0, 2, (n, k)) if logits else _dirichlet(rng, n, k)
        else:  # K mask columns
            y = (rng.uniform(size=(n, k)) < 0.4).astype(float)
            x = rng.normal(0, 2, (n, k)) if logits else rng.uniform(0.02, 0.98, (n, k))
        return Case(loss, y, (x,), params, logits)

    return make


def _contrastive(rng, n):
    return Case("contrastive", rng.integers(0, 2, n).astype(float), (rng.uniform(0.05, 2, n),))


def _triplet_distances(rng, n):
    return Case("triplet", None, (rng.uniform(0.1, 2, n), rng.uniform(0.1, 2, n)), {"margin": 0.5})


def _triplet_embeddings(rng, n, **params):
    a = rng.normal(0, 1, (n, 4))
    return Case(
        "triplet", None, (a, a + rng.normal(0, 0.5, (n, 4)), rng.normal(0, 1, (n, 4))), params
    )


def _triplet_norm(**params):
    def make(rng, n):
        case = _triplet_embeddings(rng, n, **params)
        a, pos, neg = case.preds
        if params.get("swap"):  # about half the rows take d(p, n) as the negative distance
            neg[::2] = pos[::2] + rng.normal(0, 0.3, (len(neg[::2]), 4))
        return case

    return make


def _lovasz_hinge(rng, n):
    y = rng.integers(0, 2, n).astype(float)
    return Case("lovasz_hinge", y, (rng.normal(0, 1.5, n),))


def _lovasz_softmax(logits=False, k=3):
    def make(rng, n):
        y = rng.integers(0, k - 1, n).astype(float)  # the last class is absent: not 'present'
        x = rng.normal(0, 2, (n, k)) if logits else _dirichlet(rng, n, k)
        return Case("lovasz_softmax", y, (x,), {}, logits)

    return make


def _ranking(rng, n):
    t = rng.choice([-1.0, 1.0], n)
    return Case("margin_ranking", t, (rng.normal(0, 1, n), rng.normal(0, 1, n)), {"margin": 0.1})


def _cosine(rng, n):
    t = rng.choice([-1.0, 1.0], n)
    return Case(
        "cosine_embedding", t, (rng.normal(0, 1, (n, 5)), rng.normal(0, 1, (n, 5))), {"margin": 0.2}
    )


def _cosine_vectors(loss, k=5, zero_row=False, **params):
    """K target and K prediction columns per row; ``zero_row``: row 0 of ŷ and row 1 of y are
    zero vectors (valid only with an eps floor)."""

    def make(rng, n):
        y = rng.normal(0, 1, (n, k))
        p = y + rng.normal(0, 1.5, (n, k))
        if zero_row:
            p[0] = 0.0
            y[1] = 0.0
        return Case(loss, y, (p,), params)

    return make


def _circle_embeddings(unit=True, **params):
    """Class labels (4 classes, one of them a single row) and D = 4 embeddings."""

    def make(rng, n):
        y = rng.integers(0, 3, n).astype(float)
        y[0] = 7.0  # a row without positives: L = 0
        x = rng.normal(0, 1, (n, 4))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        if not unit:
            x *= rng.uniform(0.5, 1.5, (n, 1))
        return Case("circle", y, (x,), params)

    return make


CASES = {
    "mse": [_reg("mse"), _reg_multi("mse")],
    "rmse": [_reg("rmse"), _reg_multi("rmse")],
    "mae": [_reg("mae"), _reg_multi("mae")],
    "huber": [_reg("huber"), _reg("huber", delta=0.5), _reg_multi("huber", delta=2.0)],
    "smooth_l1": [_reg("smooth_l1"), _reg("smooth_l1", beta=0.3)],
    "log_cosh": [_reg("log_cosh")],
    "msle": [_positive_reg("msle")],
    "rmsle": [_positive_reg("rmsle"), _positive_reg_multi("rmsle")],
    "mape": [_mape],
    "quantile": [_reg("quantile"), _reg("quantile", quantile=0.9), _reg("quantile", quantile=0.1)],
    "poisson": [_poisson, _poisson_logits, _poisson_full(False), _poisson_full(True)],
    "gaussian_nll": [_gaussian, _gaussian_full],
    "tweedie": [
        _tweedie(0.0, False),
        _tweedie(1.0, True),
        _tweedie(1.5, True),
        _tweedie(2.0, False),
        _tweedie(3.0, False),
        _tweedie(-1.0, False),
    ],
    "poisson_deviance": [_deviance("poisson_deviance", True)],
    "gamma_deviance": [_deviance("gamma_deviance", False)],
    "bce": [
        _binary("bce"),
        _binary("bce", logits=True),
        _binary("bce", m=3),
        _binary("bce", logits=True, m=3),
        _binary("bce", pos_weight=2.5, class_weights=(1.0, 3.0)),
        _binary("bce", logits=True, pos_weight=2.5, label_smoothing=0.1),
        _binary("bce", label_smoothing=0.2),
        _soft_bce,
    ],
    "weighted_bce": [
        _binary("weighted_bce", class_weights=(1.0, 5.0)),
        _binary("weighted_bce", logits=True, class_weights=(0.5, 4.0)),
    ],
    "brier": [_binary("brier"), _binary("brier", logits=True), _binary("brier", m=2)],
    "focal": [
        _binary("focal"),
        _binary("focal", alpha=0.25),
        _binary("focal", gamma=0.5, alpha=0.7),
        _binary("focal", gamma=0.0),
        _binary("focal", logits=True),
        _binary("focal", logits=True, gamma=3.0, alpha=0.25),
        _binary("focal", logits=True, gamma=0.5),
        _binary("focal", m=3, class_weights=(1.0, 4.0)),
        _multiclass("focal"),
        _multiclass("focal", logits=True),
        _multiclass("focal", logits=True, gamma=0.5),
        _multiclass("focal", class_weights=(1.0, 2.0, 0.5, 3.0)),
    ],
    "hinge": [_margin("hinge", pm1=False), _margin("hinge", pm1=True)],
    "squared_hinge": [_margin("squared_hinge", pm1=False), _margin("squared_hinge", pm1=True)],
    "perceptron": [_margin("perceptron", pm1=False), _margin("perceptron", pm1=True)],
    "sparsemax": [_margin("sparsemax", pm1=False), _margin("sparsemax", pm1=True)],
    "cross_entropy": [
        _multiclass("cross_entropy"),
        _multiclass("cross_entropy", logits=True),
        _multiclass("cross_entropy", target="onehot"),
        _multiclass("cross_entropy", logits=True, target="soft"),
        _multiclass("cross_entropy", logits=True, label_smoothing=0.1),
        _multiclass("cross_entropy", class_weights=(1.0, 2.0, 0.5, 3.0), label_smoothing=0.05),
        _multiclass("cross_entropy", logits=True, ignore_index=-100),
    ],
    "perplexity": [_multiclass("perplexity"), _multiclass("perplexity", logits=True)],
    "nll": [_nll(), _nll(class_weights=(1.0, 2.0, 0.5, 3.0)), _nll(ignore_index=-1)],
    "kl_div": [
        _kl(),
        _kl(logits=True),
        _kl(zeros=True),
        _kl(logits=True, zeros=True),
        _kl(log_target=True),
        _kl(logits=True, log_target=True),
    ],
    "js_div": [
        _kl(loss="js_div"),
        _kl(loss="js_div", logits=True),
        _kl(loss="js_div", zeros=True),
        _kl(loss="js_div", logits=True, zeros=True),
    ],
    "poly1_cross_entropy": [
        _multiclass("poly1_cross_entropy"),
        _multiclass("poly1_cross_entropy", logits=True),
        _multiclass("poly1_cross_entropy", logits=True, target="soft", epsilon=-0.5),
        _multiclass("poly1_cross_entropy", epsilon=1.0, label_smoothing=0.1),
        _multiclass("poly1_cross_entropy", logits=True, ignore_index=-100),
    ],
    "generalized_cross_entropy": [
        _multiclass("generalized_cross_entropy"),
        _multiclass("generalized_cross_entropy", logits=True),
        _multiclass("generalized_cross_entropy", logits=True, target="soft", q=0.3),
        _multiclass("generalized_cross_entropy", target="onehot", q=1.0),
        _multiclass("generalized_cross_entropy", logits=True, ignore_index=-1),
    ],
    "multi_hinge": [_scores("multi_hinge"), _scores("multi_hinge", margin=0.5)],
    "multi_margin": [_scores("multi_margin"), _scores("multi_margin", margin=2.0)],
    "multiclass_sparsemax": [_scores("multiclass_sparsemax"), _sparse_scores],
    "generalized_kl_div": [
        _generalized_kl(),
        _generalized_kl(zeros=True),
        _generalized_kl(log_input=True),
    ],
    "dice": [
        _overlap("dice", "binary"),
        _overlap("dice", "binary", logits=True),
        _overlap("dice", "labels"),
        _overlap("dice", "labels", logits=True),
        _overlap("dice", "masks", logits=True, smooth=1.0),
    ],
    "iou": [
        _overlap("iou", "binary"),
        _overlap("iou", "labels", logits=True),
        _overlap("iou", "masks"),
    ],
    "tversky": [
        _overlap("tversky", "binary", alpha=0.3, beta=0.7),
        _overlap("tversky", "labels", logits=True),
        _overlap("tversky", "masks", alpha=0.7, beta=0.3, smooth=0.5),
    ],
    "focal_tversky": [
        _overlap("focal_tversky", "binary"),
        _overlap("focal_tversky", "labels", logits=True),
        _overlap("focal_tversky", "masks", gamma=2.0, alpha=0.5, beta=0.5),
        _overlap("focal_tversky", "binary", logits=True, gamma=1.0),
    ],
    "generalized_dice": [
        _overlap("generalized_dice", "binary"),
        _overlap("generalized_dice", "binary", logits=True),
        _overlap("generalized_dice", "labels"),
        _overlap("generalized_dice", "labels", logits=True, smooth=0.0),
        _overlap("generalized_dice", "masks", logits=True),
    ],
    "lovasz_hinge": [_lovasz_hinge],
    "lovasz_softmax": [_lovasz_softmax(), _lovasz_softmax(logits=True), _lovasz_softmax(k=4)],
    "d2_tweedie": [
        _reg("d2_tweedie", power=0.0),
        _reg_multi("d2_tweedie", power=0.0),
        _tweedie_score(1.0, True),
        _tweedie_score(1.5, True),
        _tweedie_score(2.0, False),
        _tweedie_score(3.0, False),
        _tweedie_score(-1.0, False),
    ],
    "d2_pinball": [
        _reg("d2_pinball"),
        _reg("d2_pinball", quantile=0.9),
        _reg_multi("d2_pinball", quantile=0.2),
    ],
    "d2_absolute_error": [_reg("d2_absolute_error"), _reg_multi("d2_absolute_error")],
    "d2_log_loss": [
        _binary("d2_log_loss"),
        _binary("d2_log_loss", logits=True),
        _multiclass("d2_log_loss"),
        _multiclass("d2_log_loss", logits=True),
    ],
    "d2_brier": [
        _binary("d2_brier"),
        _binary("d2_brier", logits=True),
        _multiclass("d2_brier"),
        _multiclass("d2_brier", logits=True),
    ],
    "ece": [
        _binary("ece"),
        _binary("ece", logits=True, bins=5),
        _binary("ece", binning="mass", bins=4),
        _binary("ece", logits=True, binning="mass"),
    ],
    "brier_reliability": [
        _binary("brier_reliability"),
        _binary("brier_reliability", logits=True, binning="mass", bins=3),
    ],
    "brier_resolution": [
        _binary("brier_resolution", bins=4),
        _binary("brier_resolution", logits=True, binning="mass", bins=3),
        _binary("brier_resolution", generalized=False),
    ],
    "brier_uncertainty": [_binary("brier_uncertainty"), _binary("brier_uncertainty", logits=True)],
    "r2": [_reg("r2"), _reg_multi("r2")],
    **{
        name: [
            _binary(name),
            _binary(name, logits=True, threshold=0.3),
            _multiclass(name),
            _multiclass(name, logits=True, target="onehot"),
        ]
        for name in ("accuracy", "balanced_accuracy", "mcc")
    },
    **{
        name: [
            _binary(name),
            _binary(name, logits=True, threshold=0.7),
            _binary(name, average="macro"),
            _multiclass(name),
            _multiclass(name, logits=True, average="weighted"),
            _multiclass(name, target="onehot", average="weighted"),
        ]
        for name in ("precision", "recall", "f1")
    },
    **{
        name: [
            _binary(name),
            _binary(name, logits=True),
            _every_class(name),
            _every_class(name, logits=True, onehot=True),
        ]
        for name in ("roc_auc", "average_precision")
    },
    "contrastive": [_contrastive],
    "triplet": [
        _triplet_distances,
        _triplet_embeddings,
        _triplet_norm(p=1.0),
        _triplet_norm(p=3.0),
        _triplet_norm(swap=True),
        _triplet_norm(p=1.5, swap=True),
    ],
    "margin_ranking": [_ranking],
    "cosine_embedding": [_cosine],
    "cosine_distance": [
        _cosine_vectors("cosine_distance"),
        _cosine_vectors("cosine_distance", k=2, eps=0.5),
        _cosine_vectors("cosine_distance", zero_row=True, eps=1e-14),
    ],
    "circle": [
        _circle_embeddings(gamma=8.0, margin=0.25),
        _circle_embeddings(gamma=4.0, margin=0.4, remove_diagonal=False),
    ],
    "cosine_similarity": [
        _cosine_vectors("cosine_similarity"),
        _cosine_vectors("cosine_similarity", k=2),
        _cosine_vectors("cosine_similarity", zero_row=True, eps=1e-6),
    ],
}


def _conv(convention, base, from_logits=False):
    """``base``'s case under a library convention (from_logits None: the convention's)."""

    def make(rng, n):
        case = base(rng, n)
        case.convention = convention
        if from_logits is None:
            case.from_logits = None
        return case

    return make


def _kl_keras_zeros(logits):
    def make(rng, n):
        case = _kl(logits=logits, zeros=True)(rng, n)
        return case

    return make


def _kl_one_class(rng, n):
    """One target and one prediction column (Keras's last axis of size 1)."""
    return Case("kl_div", rng.uniform(0.05, 1.0, n), (rng.uniform(0.05, 1.0, n),))


def _kl_log_input(rng, n):
    t = _dirichlet(rng, n, 4)
    z = rng.normal(0, 2, (n, 4))
    logq = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return Case("kl_div", t, (logq,), {"log_input": True})


def _msle_zeros(rng, n):
    y = rng.uniform(0.1, 5, n)
    y[::3] = 0.0
    return Case("msle", y, (rng.uniform(0.2, 5, n),))


def _renormalized(rng, n):
    """Class probabilities whose rows sum to 1 ± 5e-4 (within losscli's 1e-3 check)."""
    case = _multiclass("cross_entropy", class_weights=(1.0, 2.0, 0.5, 3.0))(rng, n)
    p = case.preds[0]
    case.preds = (p * rng.uniform(0.9995, 1.0005, (n, 1)),)
    return case


def _negative_scores(loss):
    def make(rng, n):
        return Case(loss, rng.integers(0, 4, n).astype(float), (rng.normal(-1, 1, (n, 4)),))

    return make


CONVENTION_CASES = {
    "bce": [
        _conv("torch", _binary("bce")),
        _conv("torch", _binary("bce", pos_weight=2.5, class_weights=(1.0, 3.0))),
        _conv("torch", _binary("bce", m=3, label_smoothing=0.1)),
        _conv("sklearn", _binary("bce", class_weights=(1.0, 3.0))),
        _conv("keras", _binary("bce", logits=True, label_smoothing=0.2)),
        _conv("optax", _binary("bce", logits=True)),
    ],
    "weighted_bce": [
        _conv("torch", _binary("weighted_bce", class_weights=(1.0, 5.0))),
        _conv("sklearn", _binary("weighted_bce", class_weights=(1.0, 5.0))),
        _conv("keras", _binary("weighted_bce", logits=True, class_weights=(0.5, 4.0))),
    ],
    "focal": [
        _conv("torch", _binary("focal", logits=True)),
        _conv("torch", _binary("focal", gamma=0.5)),
        _conv("keras", _binary("focal")),
        _conv("keras", _binary("focal", logits=True, alpha=0.3, gamma=3.0)),
        _conv("keras", _binary("focal", m=3, gamma=0.5)),
        _conv("keras", _multiclass("focal")),
        _conv("keras", _multiclass("focal", logits=True, class_weights=(1.0, 2.0, 0.5, 3.0))),
        _conv("keras", _multiclass("focal", gamma=0.5, alpha=0.5)),
        _conv("keras", _binary("focal", label_smoothing=0.2)),
        _conv("keras", _binary("focal", logits=True, m=3, alpha=0.3, label_smoothing=0.1)),
        _conv("keras", _binary("focal", gamma=0.5, label_smoothing=0.3)),
        _conv("keras", _multiclass("focal", label_smoothing=0.1)),
        _conv(
            "keras",
            _multiclass(
                "focal", logits=True, class_weights=(1.0, 2.0, 0.5, 3.0), label_smoothing=0.2
            ),
        ),
        _conv("keras", _multiclass("focal", gamma=0.5, alpha=0.5, label_smoothing=0.3)),
        _conv("optax", _binary("focal", logits=True, alpha=0.25)),
    ],
    "cross_entropy": [
        _conv(
            "torch", _multiclass("cross_entropy", logits=True, class_weights=(1.0, 2.0, 0.5, 3.0))
        ),
        _conv(
            "torch",
            _multiclass(
                "cross_entropy",
                logits=True,
                class_weights=(1.0, 2.0, 0.5, 3.0),
                label_smoothing=0.1,
                ignore_index=-100,
            ),
        ),
        _conv(
            "torch",
            _multiclass(
                "cross_entropy", logits=True, target="soft", class_weights=(1.0, 2.0, 0.5, 3.0)
            ),
        ),
        _conv("keras", _renormalized),
        _conv("keras", _multiclass("cross_entropy", logits=True, label_smoothing=0.1)),
        _conv(
            "sklearn",
            _multiclass("cross_entropy", target="onehot", class_weights=(1.0, 2.0, 0.5, 3.0)),
        ),
        _conv("optax", _multiclass("cross_entropy", logits=True)),
    ],
    "nll": [_conv("torch", _nll(class_weights=(1.0, 2.0, 0.5, 3.0), ignore_index=-1))],
    "kl_div": [
        _conv("torch", _kl()),
        _conv("torch", _kl(logits=True, zeros=True)),
        _conv("torch", _kl_log_input),
        _conv("keras", _kl_keras_zeros(logits=False)),
        _conv("keras", _kl_keras_zeros(logits=True)),
        _conv("keras", _kl_one_class),
        _conv("optax", _kl_log_input),
    ],
    "multi_hinge": [_conv("keras", _negative_scores("multi_hinge"))],
    "msle": [_conv("keras", _msle_zeros)],
    "mape": [_conv("sklearn", _mape)],
    "poisson": [_conv("torch", _poisson_logits, from_logits=None), _conv("torch", _poisson)],
    "tweedie": [_conv("sklearn", _reg("tweedie"))],
    "hinge": [_conv("keras", _margin("hinge", pm1=False))],
    "mse": [_conv("keras", _reg_multi("mse"))],
    "rmse": [_conv("sklearn", _reg_multi("rmse")), _conv("sklearn", _reg("rmse"))],
    "brier": [_conv("sklearn", _multiclass("brier")), _conv("sklearn", _multiclass("brier", k=2))],
    "rmsle": [
        _conv("sklearn", _positive_reg_multi("rmsle")),
        _conv("sklearn", _positive_reg("rmsle")),
    ],
    "huber": [_conv("keras", _reg("huber", delta=0.5))],
    "dice": [
        _conv("keras", _overlap("dice", "masks", logits=True)),
        _conv("keras", _overlap("dice", "labels")),
        _conv("optax", _overlap("dice", "binary", logits=True), from_logits=None),
        _conv("optax", _overlap("dice", "labels")),
    ],
    "tversky": [
        _conv("keras", _overlap("tversky", "masks", alpha=0.7, beta=0.3)),
        _conv("optax", _overlap("tversky", "labels", logits=True, alpha=0.3, beta=0.7)),
    ],
    "triplet": [_conv("torch", _triplet_embeddings), _conv("optax", _triplet_embeddings)],
    # optax's l2_loss (½e²), selected by the name l2 under --convention optax
    "l2": [_conv("optax", _reg("l2")), _conv("optax", _reg_multi("l2"))],
    # optax's safe_softmax_cross_entropy on finite logits (the −inf rows: test_conventions_optax)
    "safe_softmax_cross_entropy": [
        _conv("optax", _multiclass("safe_softmax_cross_entropy", logits=True, target="soft")),
        _conv("optax", _multiclass("safe_softmax_cross_entropy", logits=True)),
    ],
    "generalized_kl_div": [_conv("optax", _generalized_kl(log_input=False, zeros=True))],
    "perceptron": [_conv("optax", _margin("perceptron", pm1=True))],
    "sparsemax": [_conv("optax", _margin("sparsemax", pm1=False))],
    "multiclass_sparsemax": [_conv("optax", _sparse_scores)],
    # optax's multiclass_perceptron_loss: multi_hinge with margin 0, set by the name
    "multiclass_perceptron": [_conv("optax", _scores("multiclass_perceptron"))],
    "cosine_distance": [
        _conv("keras", _cosine_vectors("cosine_distance", zero_row=True)),
        _conv("keras", _cosine_vectors("cosine_distance", k=2, eps=0.5)),
        _conv("optax", _cosine_vectors("cosine_distance")),
    ],
    "circle": [_conv("keras", _circle_embeddings(unit=False, gamma=8.0, margin=0.3))],
    "cosine_similarity": [
        _conv("torch", _cosine_vectors("cosine_similarity")),
        _conv("keras", _cosine_vectors("cosine_similarity", zero_row=True)),
        _conv("optax", _cosine_vectors("cosine_similarity", k=3)),
    ],
}


def _composite(spec, base):
    def make(rng, n):
        case = base(rng, n)
        case.loss = spec
        return case

    return make


COMPOSITES = {
    "0.7*mse+0.3*mae": _composite("0.7*mse+0.3*mae", _reg("mse")),
    "huber(delta=0.5)-0.2*log_cosh": _composite("huber(delta=0.5)-0.2*log_cosh", _reg("mse")),
    "0.5*bce+0.5*dice": _composite("0.5*bce+0.5*dice", _binary("bce", logits=True)),
    "0.5*rmse+2*mae": _composite("0.5*rmse+2*mae", _reg_multi("mse")),
    "cross_entropy+0.1*multi_margin": _composite(
        "cross_entropy+0.1*multi_margin", _multiclass("cross_entropy", logits=True)
    ),
    "0.5*cross_entropy+lovasz_softmax": _composite(
        "0.5*cross_entropy+lovasz_softmax", _lovasz_softmax(logits=True)
    ),
}


def all_cases(names, n=12, seed=0):
    """[(id, factory)] for every case of the given names, seeded reproducibly."""
    out = []
    for name in names:
        for i, make in enumerate(CASES.get(name, [])):
            out.append((f"{name}-{i}", make))
    return out


def case_params(names) -> list:
    """One ``pytest.param`` per case of the given loss names (id ``name-i``), then the composites."""
    import pytest

    cases = [
        pytest.param(make, id=f"{name}-{i}")
        for name in names
        for i, make in enumerate(CASES.get(name, []))
    ]
    return cases + [pytest.param(make, id=spec) for spec, make in COMPOSITES.items()]
