"""External losses: the register_loss decorator and the ``losscli.losses`` entry-point group."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pytest
from typer.testing import CliRunner

import losscli
from losscli import registry
from losscli.cli import app
from losscli.params import Param, positive
from losscli.registry import Explain, Loss
from losscli.streaming import Elementwise


class QuarticError(Elementwise):
    """Mean quartic error, scaled: Lᵢ = c·e⁴."""

    def loss(self, batch, params):
        return params["scale"] * (batch.preds[0] - batch.target) ** 4

    def dloss(self, batch, params):
        return (4.0 * params["scale"] * (batch.preds[0] - batch.target) ** 3,)


QUARTIC = Loss(
    name="quartic",
    kernel=QuarticError(),
    inputs="real",
    tasks=("regression",),
    params=(Param("scale", 1.0, check=positive, valid="> 0"),),
    aliases=("l4",),
    explain=Explain("Lᵢ = c·e⁴", "∂Lᵢ/∂ŷᵢ = 4c·e³", "never", "everything", "linear"),
    summary="Mean quartic error.",
    source="quartic-plugin",
)


class FakeEntryPoint:
    def __init__(self, name, obj):
        self.name = name
        self._obj = obj

    def load(self):
        if isinstance(self._obj, Exception):
            raise self._obj
        return self._obj


@pytest.fixture
def plugin_registry(monkeypatch):
    """A registry that loads the given fake entry points; restored afterwards."""
    registry.all_losses()  # the built-ins are registered before the state is saved
    saved = (dict(registry._REGISTRY), dict(registry._ALIASES), registry._entry_points_loaded)

    def install(*eps):
        def entry_points(group=None, **_):
            assert group == "losscli.losses"
            return list(eps)

        monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
        registry._entry_points_loaded = False

    yield install
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved[0])
    registry._ALIASES.clear()
    registry._ALIASES.update(saved[1])
    registry._entry_points_loaded = saved[2]


def test_entry_point_loss_is_evaluated_and_differentiated(plugin_registry):
    plugin_registry(FakeEntryPoint("quartic", QUARTIC))
    assert "quartic" in losscli.available_losses("regression")
    y, p = np.array([0.0, 1.0]), np.array([1.0, 3.0])
    assert losscli.evaluate(y, p, "l4", scale=2.0) == pytest.approx(2.0 * (1 + 16) / 2)
    np.testing.assert_allclose(losscli.gradient(y, p, "quartic"), [4 * 1 / 2, 4 * 8 / 2])


def test_entry_point_may_return_a_list_from_a_callable(plugin_registry):
    plugin_registry(FakeEntryPoint("many", lambda: [QUARTIC]))
    assert losscli.get_loss("quartic").source == "quartic-plugin"


def test_plugin_losses_appear_in_losses_and_explain(plugin_registry):
    plugin_registry(FakeEntryPoint("quartic", QUARTIC))
    runner = CliRunner()
    listed = runner.invoke(app, ["losses", "--format", "json"])
    assert listed.exit_code == 0
    assert "quartic" in listed.stdout
    shown = runner.invoke(app, ["explain", "l4"])
    assert shown.exit_code == 0 and "4c·e³" in shown.stdout


def test_a_broken_plugin_warns_and_the_builtins_still_work(plugin_registry, capsys):
    plugin_registry(FakeEntryPoint("broken", ImportError("no module named quartic_dep")))
    assert "mse" in losscli.available_losses()
    assert "plug-in 'broken' failed to load" in capsys.readouterr().err


def test_register_loss_decorator_adds_a_kernel(plugin_registry):
    plugin_registry()

    @losscli.register_loss("cubic_abs", inputs="real", tasks=["regression"])
    class CubicAbs(Elementwise):
        def loss(self, batch, params):
            return np.abs(batch.preds[0] - batch.target) ** 3

        def dloss(self, batch, params):
            e = batch.preds[0] - batch.target
            return (3.0 * e * np.abs(e),)

    assert losscli.evaluate([0.0, 0.0], [1.0, -2.0], "cubic_abs") == pytest.approx(4.5)
    assert losscli.get_loss("cubic_abs").summary == ""  # no docstring: empty summary, no crash
    with pytest.raises(ValueError, match="already registered"):
        losscli.register_loss("mse", inputs="real", tasks=["regression"])(CubicAbs)
