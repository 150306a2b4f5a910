"""The loss-selection guidelines as data: task → ranked losses, activations, pitfalls.

Every row of the two guideline tables the product grew from is here, merged with
their "use when", activation and pitfall notes: the task table ("Regression:
MSE, MAE, Huber", "Imbalanced: Weighted BCE, Focal Loss", "Segmentation: Dice,
IoU", …), the loss → output-activation table, and the pitfalls (MSE after a
sigmoid, BCE on unclipped probabilities, cross-entropy on logits, softmax for
multilabel). ``seed`` names the wording a row had there, so a reader can trace
it. ``losscli recommend``, ``losscli explain`` and the data-driven advice read
this module; it is plain data and imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pick:
    """One recommended loss for a task, in rank order.

    ``spec`` is what to pass to ``--loss`` (with typical parameters); ``params``
    names the key parameters and their usual ranges; ``seed`` is the name the
    guideline tables use for it ("Weighted Cross-Entropy", "BCE with sigmoid").
    """

    loss: str
    why: str
    spec: str = ""
    params: str = ""
    seed: str = ""
    flags: str = ""

    @property
    def loss_spec(self) -> str:
        return self.spec or self.loss


@dataclass(frozen=True)
class TaskGuide:
    """What the guidelines say about one task."""

    task: str
    title: str
    target: str
    activation: str
    picks: tuple[Pick, ...]
    pitfalls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Activation:
    """A row of the loss → output-activation table."""

    losses: tuple[str, ...]
    activation: str
    why: str
    seed: str = ""


@dataclass(frozen=True)
class Pitfall:
    """A mistake the guidelines warn about, and the losses it concerns."""

    text: str
    losses: tuple[str, ...]
    tasks: tuple[str, ...] = field(default=())


# Pitfalls are written once and referred to by key from the tasks that meet them.
PITFALLS = {
    "mse-sigmoid": Pitfall(
        "MSE after a sigmoid for classification converges slowly: the sigmoid saturates "
        "and the gradient (ŷ − y)·σ'(z) vanishes; use BCE or cross-entropy instead.",
        ("mse", "bce"),
        ("binary", "multilabel", "imbalanced"),
    ),
    "mse-classification-gradients": Pitfall(
        "MSE on class probabilities gives large, badly scaled gradients that make "
        "training unstable; prefer BCE / cross-entropy.",
        ("mse", "bce", "cross_entropy"),
        ("binary", "multiclass"),
    ),
    "bce-unclipped": Pitfall(
        "BCE on unclipped probabilities is unstable: p exactly 0 or 1 gives log 0 = −∞. "
        "losscli clips to [ε, 1 − ε] (--eps, default 1e-7); better, keep logits and pass "
        "--from-logits.",
        ("bce", "weighted_bce", "focal"),
        ("binary", "multilabel", "imbalanced"),
    ),
    "logits-as-probabilities": Pitfall(
        "Cross-entropy on raw logits read as probabilities gives NaNs or nonsense: apply "
        "softmax/sigmoid first, or use the combined stable form (--from-logits, "
        "log-softmax via log-sum-exp).",
        ("cross_entropy", "bce", "nll", "focal", "kl_div"),
        ("binary", "multiclass", "multilabel", "sequence"),
    ),
    "unstable-softmax": Pitfall(
        "A naive softmax / cross-entropy overflows for large logits (exp(1000) = inf); "
        "compute in log space: subtract the row maximum (log-sum-exp).",
        ("cross_entropy", "perplexity", "nll", "kl_div"),
        ("multiclass", "sequence", "distribution"),
    ),
    "softmax-multilabel": Pitfall(
        "Softmax for multilabel targets forces the labels to compete (rows sum to 1); "
        "each label needs its own sigmoid and BCE.",
        ("bce", "cross_entropy"),
        ("multilabel",),
    ),
    "mse-outliers": Pitfall(
        "MSE is sensitive to outliers and scale-dependent: a few large residuals dominate "
        "the mean; use Huber, MAE or log-cosh when residuals are heavy-tailed.",
        ("mse", "rmse", "huber", "mae", "log_cosh"),
        ("regression", "robust-regression"),
    ),
    "mae-slow": Pitfall(
        "MAE's gradient is constant (±1), so learning is slow near the optimum and it is "
        "not differentiable at 0; Huber or log-cosh keep robustness with a smooth minimum.",
        ("mae", "huber", "log_cosh"),
        ("regression", "robust-regression"),
    ),
    "huber-delta": Pitfall(
        "Huber requires choosing δ on the scale of the residuals: δ far above every "
        "residual is MSE/2, far below is δ·MAE; set it from a robust scale "
        "(losscli recommend FILE suggests 1.345·1.4826·MAD).",
        ("huber", "smooth_l1"),
        ("regression", "robust-regression"),
    ),
    "ce-label-noise": Pitfall(
        "Cross-entropy is sensitive to label noise: confident wrong labels get huge "
        "losses; label smoothing (0.05–0.1) softens it.",
        ("cross_entropy", "nll", "perplexity"),
        ("multiclass", "sequence"),
    ),
    "hinge-nondifferentiable": Pitfall(
        "Hinge is not differentiable at the margin and needs ±1 targets and raw scores, "
        "not probabilities; squared hinge is smooth.",
        ("hinge", "squared_hinge", "multi_hinge"),
        ("binary",),
    ),
    "imbalance-accuracy": Pitfall(
        "On imbalanced data a plain mean loss is dominated by the majority class; weight "
        "the classes (n / (K·n_c)) or focus on hard examples (focal), and look at "
        "per-class results.",
        ("bce", "cross_entropy", "weighted_bce", "focal"),
        ("imbalanced",),
    ),
    "dice-empty": Pitfall(
        "Dice and IoU of an image with an empty mask and an empty prediction is 0/0: the "
        "smoothing term decides; evaluate per image with --group and keep --smooth small.",
        ("dice", "iou", "tversky"),
        ("segmentation",),
    ),
    "poisson-link": Pitfall(
        "Poisson needs non-negative targets and positive rates; a model that outputs "
        "log-rates must be evaluated with --from-logits, not clipped.",
        ("poisson", "tweedie"),
        ("counts",),
    ),
    "kl-direction": Pitfall(
        "KL divergence is asymmetric: KL(target ‖ prediction) ≠ KL(prediction ‖ target); "
        "the target distribution goes first.",
        ("kl_div",),
        ("distribution",),
    ),
    "contrastive-labels": Pitfall(
        "Contrastive loss needs y = 1 for similar pairs and y = 0 for dissimilar ones, and "
        "a distance (not a similarity) as prediction; the margin is on the distance scale.",
        ("contrastive", "triplet", "cosine_embedding"),
        ("similarity",),
    ),
}


TASK_GUIDES = (
    TaskGuide(
        "regression",
        "Regression",
        "continuous target",
        "linear (identity)",
        (
            Pick(
                "mse",
                "the default for continuous targets with roughly Gaussian errors; "
                "penalises large errors quadratically",
                seed="MSE",
            ),
            Pick(
                "mae",
                "robust to outliers; use when errors have a heavy-tailed distribution",
                seed="MAE",
            ),
            Pick(
                "huber",
                "quadratic for small errors, linear for large ones: MSE's smoothness with "
                "MAE's robustness",
                spec="huber(delta=1.0)",
                params="delta: the residual size where quadratic turns linear; "
                "1.345·σ of the residuals (σ ≈ 1.4826·MAD)",
                seed="Huber",
            ),
            Pick(
                "rmse",
                "MSE in the target's units, for reporting",
                seed="",
            ),
            Pick(
                "log_cosh",
                "a twice-differentiable MAE: like MSE near 0, like MAE for large errors",
                seed="Log-Cosh",
            ),
        ),
        ("mse-outliers", "mae-slow", "huber-delta"),
    ),
    TaskGuide(
        "robust-regression",
        "Regression with outliers",
        "continuous target with heavy-tailed residuals",
        "linear (identity)",
        (
            Pick(
                "huber",
                "bounded influence of outliers with a smooth minimum",
                spec="huber(delta=1.0)",
                params="delta: 1.345·σ of the residuals (σ ≈ 1.4826·MAD)",
                seed="Huber",
            ),
            Pick(
                "mae",
                "the median regression: every residual counts linearly",
                seed="MAE",
            ),
            Pick(
                "log_cosh",
                "robust to outliers and twice differentiable",
                seed="Log-Cosh",
            ),
            Pick(
                "smooth_l1",
                "Huber divided by β (PyTorch's smooth L1), common in detection",
                spec="smooth_l1(beta=1.0)",
                params="beta: 1.345·σ of the residuals, as Huber's δ",
            ),
        ),
        ("mse-outliers", "mae-slow", "huber-delta"),
    ),
    TaskGuide(
        "counts",
        "Count regression",
        "non-negative integer counts",
        "exp (log link) or softplus",
        (
            Pick(
                "poisson",
                "the Poisson likelihood of counts; the natural loss for rates and events",
                params="give log-rates with --from-logits",
            ),
            Pick(
                "tweedie",
                "counts with many zeros or variance above the mean (compound Poisson–gamma)",
                spec="tweedie(power=1.5)",
                params="power: 1 = Poisson, 2 = gamma; usually 1.1–1.9",
            ),
            Pick("mse", "a scale-dependent baseline on the counts themselves"),
            Pick("mae", "robust baseline, the median count"),
        ),
        ("poisson-link", "mse-outliers"),
    ),
    TaskGuide(
        "quantile",
        "Quantile regression",
        "continuous target, a predicted quantile",
        "linear (identity)",
        (
            Pick(
                "quantile",
                "the pinball loss is minimised by the q-th quantile: prediction intervals",
                spec="quantile(quantile=0.9)",
                params="quantile: q in (0, 1); 0.5 = MAE/2, 0.05/0.95 for a 90% interval",
            ),
            Pick("mae", "the q = 0.5 special case (twice the pinball loss)"),
        ),
        (),
    ),
    TaskGuide(
        "binary",
        "Binary classification",
        "categorical, 2 classes (0/1 or ±1)",
        "sigmoid",
        (
            Pick(
                "bce",
                "the Bernoulli negative log-likelihood: probabilistic, works with sigmoid outputs",
                params="eps: clipping floor 1e-7; or logits with --from-logits",
                seed="Binary Cross-Entropy (BCE)",
            ),
            Pick(
                "brier",
                "mean squared error of the probability: a proper score that is bounded",
            ),
            Pick(
                "hinge",
                "the SVM margin loss on raw scores with ±1 targets; maximises the margin",
                seed="Hinge Loss",
            ),
            Pick(
                "squared_hinge",
                "a smooth hinge; penalises margin violations quadratically",
            ),
        ),
        (
            "mse-sigmoid",
            "mse-classification-gradients",
            "bce-unclipped",
            "logits-as-probabilities",
            "hinge-nondifferentiable",
        ),
    ),
    TaskGuide(
        "multiclass",
        "Multi-class classification",
        "categorical, more than 2 classes (one label per row)",
        "softmax",
        (
            Pick(
                "cross_entropy",
                "categorical cross-entropy: the multinomial log-likelihood over a softmax; "
                "integer labels work directly (sparse categorical)",
                params="label_smoothing: 0–0.1; class_weights for imbalance",
                seed="Categorical Cross-Entropy",
            ),
            Pick(
                "focal",
                "down-weights easy examples when some classes are rare or easy",
                spec="focal(gamma=2.0)",
                params="gamma: 2 (0.5–5); 0 gives cross-entropy",
            ),
            Pick(
                "multi_hinge",
                "the Crammer–Singer multi-class SVM loss on raw scores",
            ),
        ),
        (
            "logits-as-probabilities",
            "unstable-softmax",
            "ce-label-noise",
            "mse-classification-gradients",
        ),
    ),
    TaskGuide(
        "multilabel",
        "Multi-label classification",
        "several independent 0/1 labels per row",
        "sigmoid (one per label)",
        (
            Pick(
                "bce",
                "BCE with a sigmoid per label, averaged over the labels: labels are independent",
                seed="BCE with sigmoid",
            ),
            Pick(
                "focal",
                "per-label focal loss when some labels are rare",
                spec="focal(gamma=2.0)",
                params="gamma: 2 (0.5–5)",
            ),
            Pick("brier", "per-label squared error of the probabilities"),
        ),
        ("softmax-multilabel", "bce-unclipped", "mse-sigmoid"),
    ),
    TaskGuide(
        "imbalanced",
        "Imbalanced classification",
        "skewed class distribution (a minority class under 20%)",
        "sigmoid (binary) or softmax (multi-class)",
        (
            Pick(
                "focal",
                "focuses learning on hard, misclassified examples; γ = 0 is cross-entropy",
                spec="focal(gamma=2.0,alpha=0.25)",
                params="gamma: 2 (0.5–5); alpha: weight of the positive class, 0.25 in the "
                "focal-loss paper or 1 − positive share",
                seed="Focal Loss",
            ),
            Pick(
                "weighted_bce",
                "BCE with the classes weighted by n / (K·n_c), so mistakes on the rare "
                "class cost more",
                # w0,w1 are placeholders: the weights depend on the data's class counts
                # (``losscli recommend FILE`` puts in the file's).
                spec="weighted_bce(class_weights=[w0,w1])",
                params="class_weights: w_c = n / (2·n_c) for class c, with n rows of which n_c "
                "are of class c (losscli recommend FILE computes them); or pos_weight = n₀ / n₁",
                seed="Weighted BCE",
            ),
            Pick(
                "cross_entropy",
                "weighted cross-entropy: class weights n / (K·n_c) penalise mistakes on rare "
                "classes more heavily (multi-class)",
                params="class_weights: n / (K·n_c) per class",
                seed="Weighted Cross-Entropy",
            ),
            Pick(
                "dice",
                "an overlap score that ignores the true negatives, so the majority class "
                "cannot dominate",
                seed="Dice Loss",
            ),
            Pick("brier", "a bounded proper score to check calibration beside the losses"),
        ),
        ("imbalance-accuracy", "bce-unclipped", "logits-as-probabilities"),
    ),
    TaskGuide(
        "segmentation",
        "Segmentation",
        "a 0/1 mask (or class label) per pixel, grouped by image",
        "sigmoid (binary masks) or softmax (classes)",
        (
            Pick(
                "dice",
                "overlap between predicted and true masks; good for imbalanced foregrounds",
                params="smooth: 1e-6 (or 1 as in many implementations)",
                seed="Dice Loss",
            ),
            Pick(
                "iou",
                "intersection over union (Jaccard); stricter than Dice on poor overlaps",
                seed="IoU Loss",
            ),
            Pick(
                "tversky",
                "Dice with separate weights on false positives (α) and negatives (β)",
                spec="tversky(alpha=0.3,beta=0.7)",
                params="alpha, beta: β > α favours recall of small structures",
            ),
            Pick("bce", "pixel-wise BCE, often added to Dice: '0.5*bce + 0.5*dice'"),
        ),
        ("dice-empty", "bce-unclipped"),
    ),
    TaskGuide(
        "similarity",
        "Similarity / metric learning",
        "pairs or triplets of embeddings and their distances",
        "embeddings (often L2-normalised) and a distance",
        (
            Pick(
                "contrastive",
                "pulls similar pairs together and pushes dissimilar ones beyond a margin "
                "(siamese networks)",
                params="margin: on the distance scale, e.g. 1 (0.5–2)",
                seed="Contrastive Loss",
            ),
            Pick(
                "triplet",
                "an anchor closer to its positive than to its negative by a margin",
                spec="triplet(margin=0.2)",
                params="margin: 0.2–1",
                seed="Triplet Loss",
            ),
            Pick(
                "cosine_embedding",
                "pairs of embeddings compared by cosine similarity with ±1 targets",
                params="margin: 0–0.5",
            ),
            Pick(
                "margin_ranking",
                "pairwise ranking of two scores with a ±1 target saying which ranks first",
            ),
        ),
        ("contrastive-labels",),
    ),
    TaskGuide(
        "sequence",
        "Sequence models / NLP",
        "token sequences: one class label per token",
        "softmax over the vocabulary (log-softmax for nll)",
        (
            Pick(
                "cross_entropy",
                "the most common loss for language models: per-token cross-entropy",
                params="label_smoothing: 0.1 is common; ignore_index for padding tokens",
                seed="Cross-Entropy",
            ),
            Pick(
                "nll",
                "negative log-likelihood of log-probabilities: cross-entropy with log-softmax",
                seed="Negative Log-Likelihood",
            ),
            Pick(
                "perplexity",
                "e raised to the mean token cross-entropy: the language-model metric",
            ),
        ),
        ("logits-as-probabilities", "unstable-softmax", "ce-label-noise"),
    ),
    TaskGuide(
        "distribution",
        "Matching distributions",
        "a target probability distribution per row (soft labels, distillation, VAEs)",
        "softmax",
        (
            Pick(
                "kl_div",
                "how one distribution diverges from another; used in variational "
                "autoencoders and distillation",
                seed="Kullback-Leibler Divergence",
            ),
            Pick(
                "cross_entropy",
                "cross-entropy with soft targets: KL plus the (constant) target entropy",
            ),
        ),
        ("kl-direction", "unstable-softmax"),
    ),
)

# The loss → output-activation table, with the losses the tables left out.
ACTIVATIONS = (
    Activation(("mse",), "linear", "continuous outputs", seed="MSE"),
    Activation(("mae",), "linear", "continuous outputs", seed="MAE"),
    Activation(
        ("rmse", "huber", "smooth_l1", "log_cosh", "quantile", "mape"),
        "linear",
        "continuous outputs",
    ),
    Activation(("msle",), "linear or softplus", "non-negative outputs"),
    Activation(("poisson", "tweedie"), "exp (log link)", "positive rates"),
    Activation(
        ("gaussian_nll",), "linear mean, softplus variance", "a mean and a positive variance"
    ),
    Activation(("bce",), "sigmoid", "maps the output to a [0, 1] probability", seed="BCE"),
    Activation(
        ("cross_entropy",), "softmax", "probabilities across classes", seed="Categorical CE"
    ),
    Activation(("bce",), "sigmoid", "independent probabilities", seed="Multi-Label BCE"),
    Activation(
        ("focal",), "sigmoid or softmax", "focus on hard misclassified examples", seed="Focal Loss"
    ),
    Activation(("weighted_bce", "brier"), "sigmoid", "a [0, 1] probability"),
    Activation(("perplexity", "kl_div"), "softmax", "probabilities across classes"),
    Activation(("nll",), "log-softmax", "log-probabilities across classes"),
    Activation(
        ("hinge", "squared_hinge", "multi_hinge", "multi_margin", "margin_ranking"),
        "linear (raw score)",
        "margins are measured on scores",
    ),
    Activation(("dice", "iou", "tversky"), "sigmoid or softmax", "soft masks in [0, 1]"),
    Activation(
        ("contrastive", "triplet", "cosine_embedding"),
        "embedding (L2-normalised)",
        "distances between embeddings",
    ),
)


def task_guide(task: str) -> TaskGuide:
    """The guide of a canonical task name (see ``registry.normalize_task``)."""
    for guide in TASK_GUIDES:
        if guide.task == task:
            return guide
    raise KeyError(task)


def guides_mentioning(loss: str) -> list[tuple[TaskGuide, int, Pick]]:
    """(task guide, rank from 1, pick) for every task that recommends ``loss``."""
    return [
        (guide, rank, pick)
        for guide in TASK_GUIDES
        for rank, pick in enumerate(guide.picks, start=1)
        if pick.loss == loss
    ]


def activations_of(loss: str) -> list[Activation]:
    """The activation-table rows for ``loss``."""
    return [row for row in ACTIVATIONS if loss in row.losses]


def pitfalls_of(loss: str) -> list[Pitfall]:
    """The pitfalls that concern ``loss``."""
    return [p for p in PITFALLS.values() if loss in p.losses]


def named_losses() -> set[str]:
    """Every loss name the guidelines use (each must be registered)."""
    names = {pick.loss for guide in TASK_GUIDES for pick in guide.picks}
    names |= {loss for row in ACTIVATIONS for loss in row.losses}
    names |= {loss for p in PITFALLS.values() for loss in p.losses}
    return names
