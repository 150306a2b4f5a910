"""Invalid parameters raise ParamError naming the parameter, its value and its valid range."""

from __future__ import annotations

import numpy as np
import pytest

import losscli
from losscli.errors import ExitCode
from losscli.losses.params import Param

Y = np.array([0.0, 1.0, 1.0])
P = np.array([0.2, 0.7, 0.9])
LABELS = np.array([0, 1, 2])
PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])

BAD = [
    ("huber", {"delta": 0}, "delta", "> 0"),
    ("huber", {"delta": -1.5}, "delta", "> 0"),
    ("smooth_l1", {"beta": 0.0}, "beta", "> 0"),
    ("quantile", {"quantile": 0.0}, "quantile", "in (0, 1)"),
    ("quantile", {"quantile": 1.0}, "quantile", "in (0, 1)"),
    ("quantile", {"quantile": 1.5}, "quantile", "in (0, 1)"),
    ("focal", {"gamma": -1}, "gamma", ">= 0"),
    ("focal", {"alpha": 1.2}, "alpha", "in [0, 1]"),
    ("focal", {"alpha": -0.1}, "alpha", "in [0, 1]"),
    ("bce", {"label_smoothing": 1.0}, "label_smoothing", "in [0, 1)"),
    ("bce", {"label_smoothing": -0.1}, "label_smoothing", "in [0, 1)"),
    ("bce", {"class_weights": (1.0, 2.0, 3.0)}, "class_weights", "2 numbers"),
    ("bce", {"class_weights": (1.0, -2.0)}, "class_weights", "non-negative"),
    ("bce", {"pos_weight": 0}, "pos_weight", "> 0"),
    ("tweedie", {"power": 0.5}, "power", "<= 0 or >= 1"),
    ("dice", {"smooth": -1}, "smooth", ">= 0"),
    ("bce", {"eps": 0}, "eps", "> 0"),
    ("weighted_bce", {}, "class_weights", "given"),
]


@pytest.mark.parametrize(
    ("loss", "params", "name", "valid"), BAD, ids=[f"{b[0]}-{b[2]}" for b in BAD]
)
def test_invalid_parameter_names_itself_its_value_and_range(loss, params, name, valid):
    with pytest.raises(losscli.ParamError) as info:
        losscli.evaluate(Y, P, loss, **params)
    err = info.value
    assert err.param == name
    assert name in str(err) and valid in str(err)
    if params:
        shown = params[name]
        assert str(
            shown
            if not isinstance(shown, tuple)
            else shown[1 if name == "class_weights" and len(shown) == 2 else 0]
        ) in str(err)
    assert err.exit_code == ExitCode.USAGE


def test_wrong_class_weight_count_for_multiclass():
    with pytest.raises(losscli.ParamError, match="3 numbers, one per class"):
        losscli.evaluate(LABELS, PROBS, "cross_entropy", class_weights=[1, 2])


def test_negative_sample_weights_are_a_param_error():
    with pytest.raises(losscli.ParamError) as info:
        losscli.evaluate(Y, P, "bce", weights=[1.0, -2.0, 1.0])
    assert info.value.param == "weights" and "-2.0" in str(info.value) and ">= 0" in str(info.value)


def test_unknown_parameter_is_refused():
    with pytest.raises(losscli.UsageError, match="delta"):
        losscli.evaluate(Y, P, "mse", delta=1.0)


def test_unknown_loss_suggests_close_names():
    with pytest.raises(losscli.UsageError) as info:
        losscli.get_loss("hubber")
    assert "huber" in info.value.hint


def test_aliases_resolve_to_the_same_loss():
    for alias, name in [
        ("l2", "mse"),
        ("pinball", "quantile"),
        ("log_loss", "bce"),
        ("jaccard", "iou"),
        ("sparse_categorical_crossentropy", "cross_entropy"),
        ("Binary-Cross-Entropy", "bce"),
    ]:
        assert losscli.get_loss(alias).name == name


def test_params_parse_from_text():
    assert Param("class_weights", None, kind="floats").parse("1,5") == (1.0, 5.0)
    assert Param("alpha", None).parse("none") is None
    assert losscli.evaluate(Y, P, "huber(delta=0.5)") == losscli.evaluate(Y, P, "huber", delta=0.5)
    assert losscli.evaluate(LABELS, PROBS, "cross_entropy(class_weights=[1,2,3])") == pytest.approx(
        losscli.evaluate(LABELS, PROBS, "cross_entropy", class_weights=[1, 2, 3])
    )


def test_bad_input_values_name_the_row():
    with pytest.raises(
        losscli.InputError, match=r"prediction is not a probability in \[0, 1\] at row 2"
    ):
        losscli.evaluate(Y, [0.2, 0.5, 1.7], "bce")
    with pytest.raises(losscli.InputError, match="row 1") as info:
        losscli.evaluate([0, 2, 1], [0.2, 0.5, 0.7], "bce")
    assert "0 or 1" in info.value.hint
    with pytest.raises(losscli.InputError, match="must sum to 1") as info:
        losscli.evaluate(LABELS, PROBS * 0.9, "cross_entropy")
    assert "--from-logits" in info.value.hint
    with pytest.raises(losscli.InputError, match="NaN"):
        losscli.evaluate(Y, [0.2, np.nan, 0.7], "mse")
    with pytest.raises(losscli.InputError, match="negative"):
        losscli.evaluate([1.0, -1.0], [1.0, 1.0], "msle")
    with pytest.raises(losscli.InputError, match="class label in 0..2"):
        losscli.evaluate([0, 3, 1], PROBS, "cross_entropy")
    with pytest.raises(losscli.InputError, match="-1, \\+1"):
        losscli.evaluate([0, 2, 1], [0.1, 0.2, 0.3], "hinge")
