"""Facts about a loss live on its declaration: positivity (plot ranges) and the
default losses of an inferred task."""

from __future__ import annotations

import pytest

from losscli.losses.registry import INFERRED_TASKS, Loss, add_loss, default_losses, get_loss


def test_default_losses_of_each_inferred_task():
    assert {t: default_losses(t) for t in INFERRED_TASKS if default_losses(t)} == {
        "regression": "mse,rmse,mae,huber",
        "counts": "poisson,mse,mae",
        "binary": "bce,brier",
        "imbalanced": "bce,focal,brier",
        "multiclass": "cross_entropy",
        "multiclass-imbalanced": "cross_entropy,focal",
        "multilabel": "bce",
        "distribution": "kl_div",
        "binary-margin": "hinge,squared_hinge",
    }


def test_positive_losses():
    positive = {"msle", "mape", "poisson", "tweedie", "poisson_deviance", "gamma_deviance"}
    for name in positive:
        assert get_loss(name).positive, name
    assert not get_loss("mse").positive


def test_a_default_for_an_unknown_task_is_refused():
    mse = get_loss("mse")
    with pytest.raises(ValueError, match="unknown task"):
        add_loss(
            Loss(
                "x_unknown_default", mse.kernel, "real", ("regression",), default_for=(("rgr", 1),)
            )
        )
