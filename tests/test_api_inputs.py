"""The array API refuses inputs it would otherwise read wrongly or ignore.

A 3-D array summed its trailing axes into each row's loss; ``var=`` for a loss without a
variance, a second prediction for a one-input loss and a target for triplet were dropped;
``from_logits="false"`` was true; accumulators of other losses merged; an (n, 1) input's
gradient came back (n,); ``reduction="none"`` left the weights out of Lᵢ while
``gradient`` differentiated wᵢLᵢ.
"""

from __future__ import annotations

import numpy as np
import pytest

import losscli
from losscli.errors import InputError, UsageError

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("loss", ["mse", "bce", "dice"])
def test_an_array_of_three_axes_is_refused_with_the_reshape(loss):
    y = (RNG.uniform(size=(3, 4, 4)) > 0.5).astype(float)
    p = RNG.uniform(0.05, 0.95, size=(3, 4, 4))
    with pytest.raises(InputError, match=r"shape \(3, 4, 4\)") as info:
        losscli.evaluate(y, p, loss)
    assert "reshape(len(a), -1)" in info.value.hint
    with pytest.raises(InputError, match=r"shape \(3, 4, 4\)"):
        losscli.gradient(y, p, loss)
    # reshaped as the hint says, the rows are read as a file's columns
    flat = losscli.evaluate(y.reshape(3, -1), p.reshape(3, -1), loss)
    if loss == "mse":  # one mean over every value, as numpy's
        assert flat == pytest.approx(np.mean((y - p) ** 2), rel=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_the_gradient_keeps_an_n_by_1_shape(reduction):
    z = np.array([[0.3], [-1.2], [2.0]])
    y = np.array([[1.0], [0.0], [1.0]])
    g = losscli.gradient(y, z, "bce", from_logits=True, reduction=reduction)
    assert g.shape == (3, 1)
    flat = losscli.gradient(y[:, 0], z[:, 0], "bce", from_logits=True, reduction=reduction)
    assert flat.shape == (3,)
    np.testing.assert_array_equal(g[:, 0], flat)
    acc = losscli.Accumulator("mse").update(y, z)
    assert acc.gradient(y, z).shape == (3, 1)


def test_per_row_losses_with_weights_are_what_the_gradient_differentiates():
    y, p, w = np.zeros(3), np.array([1.0, -2.0, 0.5]), np.array([1.0, 2.0, 3.0])
    rows = losscli.evaluate(y, p, "mse", reduction="none", weights=w)
    np.testing.assert_array_equal(rows, w * (p - y) ** 2)  # Keras's per-sample value
    grad = losscli.gradient(y, p, "mse", reduction="none", weights=w)
    h = 1e-6
    for i in range(3):
        up, down = p.copy(), p.copy()
        up[i] += h
        down[i] -= h
        numeric = (
            losscli.evaluate(y, up, "mse", reduction="none", weights=w)[i]
            - losscli.evaluate(y, down, "mse", reduction="none", weights=w)[i]
        ) / (2 * h)
        assert grad[i] == pytest.approx(numeric, rel=1e-7)
    unweighted = losscli.evaluate(y, p, "mse", reduction="none")
    np.testing.assert_array_equal(unweighted, (p - y) ** 2)


@pytest.mark.parametrize("function", [losscli.evaluate, losscli.gradient])
def test_inputs_the_loss_does_not_read_are_refused(function):
    y, p = np.array([1.0, 2.0]), np.array([2.0, 2.0])
    with pytest.raises(UsageError, match="mse takes no var="):
        function(y, p, "mse", var=[5.0, 5.0])
    with pytest.raises(UsageError, match="mse reads 1 prediction input"):
        function(y, (p, np.array([9.0, 9.0])), "mse")
    d = (np.array([1.0, 3.0]), np.array([2.0, 1.0]))
    with pytest.raises(UsageError, match="triplet reads no target"):
        function(np.array([5.0, -3.0]), d, "triplet")
    # what they do read still works
    assert losscli.evaluate(None, d, "triplet") == pytest.approx(np.mean([0.0, 3.0]))
    assert losscli.evaluate(y, p, "gaussian_nll", var=[1.0, 2.0]) == pytest.approx(
        np.mean(0.5 * (np.log([1.0, 2.0]) + (p - y) ** 2 / [1.0, 2.0]))
    )


@pytest.mark.parametrize("reduction", ["mean", "median", "sum"])
def test_no_rows_is_said_so(reduction):
    with pytest.raises(InputError, match="^no rows were given$"):
        losscli.evaluate([], [], "mse", reduction=reduction)


def test_an_empty_batch_adds_nothing_to_an_accumulator():
    acc = losscli.Accumulator("mse").update([], []).update([1.0], [3.0]).update([], [])
    assert acc.value() == 4.0 and acc.rows_seen == 1


@pytest.mark.parametrize("value", ["false", 0, 1.0, "True"])
def test_from_logits_takes_a_bool(value):
    with pytest.raises(UsageError, match="from_logits is True, False or None"):
        losscli.evaluate([0, 1], [0.2, 0.9], "bce", from_logits=value)
    assert losscli.evaluate([0, 1], [0.2, 0.9], "bce", from_logits=np.bool_(False)) == (
        pytest.approx(-(np.log(0.8) + np.log(0.9)) / 2, rel=1e-14)
    )


def test_accumulators_of_other_settings_do_not_merge():
    acc = losscli.Accumulator
    with pytest.raises(UsageError, match=r"loss mae \(here mse\)"):
        acc("mse").update([0.0, 0.0], [2.0, 2.0]).merge(acc("mae").update([0.0], [2.0]))
    with pytest.raises(UsageError, match=r"parameters \[\('delta', 5\)\]"):
        acc("huber", delta=0.1).merge(acc("huber", delta=5))
    with pytest.raises(UsageError, match="reduction median"):
        acc("mse").merge(acc("mse", reduction="median"))
    with pytest.raises(UsageError, match="not int"):
        acc("mse").merge(3)
    same = (
        acc("huber", delta=0.5)
        .update([0.0], [2.0])
        .merge(acc("huber", delta=0.5).update([0.0], [0.2]))
    )
    assert same.value() == pytest.approx((0.5 * (2.0 - 0.25) + 0.5 * 0.04) / 2, rel=1e-14)


def test_an_accumulator_says_what_it_needs():
    with pytest.raises(InputError, match="call update"):
        losscli.Accumulator("mse").gradient([0.0], [1.0])
    acc = losscli.Accumulator("roc_auc").update([0, 1.0], [0.2, 0.8])
    with pytest.raises(InputError, match="changed shape between batches"):
        acc.update([0, 1, 2], np.full((3, 3), 1 / 3))


def test_ragged_rows_and_text_weights_are_input_errors():
    with pytest.raises(InputError, match="prediction is not an array of rows"):
        losscli.evaluate([0, 1], [[0.2, 0.8], [0.5]], "cross_entropy")
    with pytest.raises(InputError, match="weights must be numbers, not values of dtype <U1"):
        losscli.evaluate([1.0, 2.0], [1.0, 3.0], "mse", weights=["1", "2"])
    assert losscli.evaluate([1.0, 2.0], [1.0, 3.0], "mse", weights=[True, 1]) == 0.5
