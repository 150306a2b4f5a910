"""External losses: the register_loss decorator and the ``losscli.losses`` entry-point group."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import losscli
from losscli.cli.commands import app
from losscli.kernel.streaming import Elementwise
from losscli.losses import registry
from losscli.losses.params import Param, positive
from losscli.losses.registry import Explain, Loss


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
        monkeypatch.setattr(registry, "_may_have_plugins", lambda: True)
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


PLUGIN_MODULE = """
from losscli import Elementwise, Loss


class Cubic(Elementwise):
    def loss(self, batch, params):
        return abs(batch.preds[0] - batch.target) ** 3

    def dloss(self, batch, params):
        e = batch.preds[0] - batch.target
        return (3 * e * abs(e),)


def losses():
    return [Loss(name="cubic", summary="Mean absolute cubed error.", tasks=("regression",),
                 inputs="real", kernel=Cubic())]
"""


def test_an_installed_distribution_is_found_through_its_entry_points_txt(tmp_path):
    """End to end, without fakes: a dist-info on sys.path declares the entry point."""
    (tmp_path / "cubic_plugin.py").write_text(PLUGIN_MODULE)
    info = tmp_path / "cubic_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cubic-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[losscli.losses]\ncubic = cubic_plugin:losses\n")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from losscli.losses.registry import _may_have_plugins;"
        "import losscli;"
        "print(_may_have_plugins(), losscli.evaluate([0.0, 1.0], [2.0, 1.0], 'cubic'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True", "4.0"]


def test_the_quick_plugin_probe_says_no_only_when_no_entry_point_names_losscli(
    tmp_path, monkeypatch
):
    info = tmp_path / "other-1.0.dist-info"
    info.mkdir()
    (info / "entry_points.txt").write_text("[console_scripts]\nother = other:main\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), str(tmp_path / "missing")])
    assert registry._may_have_plugins() is False
    (info / "entry_points.txt").write_text("[losscli.losses]\nx = other:losses\n")
    assert registry._may_have_plugins() is True
    zipped = tmp_path / "lib.zip"
    zipped.write_bytes(b"")
    monkeypatch.setattr(sys, "path", [str(zipped)])
    assert registry._may_have_plugins() is True  # cannot look inside: a maybe
