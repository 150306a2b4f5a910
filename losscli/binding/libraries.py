"""The libraries whose definitions losscli can follow (``--convention``): their names,
spellings and titles, and the rules the evaluation needs before any record is looked up.

The records themselves (``losscli.binding.conventions``, a table of every (loss,
library) pair) are imported only when a convention is asked for.
"""

from __future__ import annotations

from losscli.errors import UsageError

LIBRARIES = ("torch", "keras", "sklearn", "optax")
TITLES = {"torch": "PyTorch", "keras": "Keras", "sklearn": "scikit-learn", "optax": "optax"}
SPELLINGS = {
    "pytorch": "torch",
    "torchvision": "torch",
    "tf.keras": "keras",
    "keras3": "keras",
    "scikit-learn": "sklearn",
    "scikit_learn": "sklearn",
    "sk-learn": "sklearn",
    "jax": "optax",
}


def normalize_library(name: str) -> str:
    """``torch``, ``keras``, ``sklearn`` or ``optax`` for a spelling such as ``pytorch``."""
    key = name.strip().lower()
    key = SPELLINGS.get(key, key)
    if key not in LIBRARIES:
        raise UsageError(
            f"unknown convention {name!r}",
            hint=f"conventions: {', '.join(LIBRARIES)}",
        )
    return key


def sklearn_positive(labels: set[float]) -> float | None:
    """scikit-learn's positive class of a binary numeric target given without pos_label
    (brier_score_loss, d2_brier_score in 1.9: ``_validate_binary_probabilistic_prediction``):
    1 for {0, 1}, {−1, 1}, {1} and for a lone 0 or −1 (which are then negative), else the
    greater label; None when the labels need no mapping (a subset of {0, 1}) or are not
    binary (more than two: the loss's own check refuses them)."""
    if labels <= {0.0, 1.0} or len(labels) > 2:
        return None
    if labels == {-1.0}:
        return 1.0
    return max(labels)
