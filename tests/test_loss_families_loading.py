"""The registry imports a loss family when one of its names is looked up, and every family
when all the losses are listed; the index it looks names up in (``losses/names.py``) is
the registrations' own, and what a command sees is the same whichever family came first.

Each case runs in a fresh interpreter: a test process has every family loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from losscli.losses import builtin
from losscli.losses.names import DEFAULT_RANKS, FAMILY_OF

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"


def fresh(code: str, *args: str) -> object:
    """What ``code`` prints last (JSON), run in a new interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


FAMILIES_LOADED = """
import io, json, sys
from losscli.cli.commands import run
out, sys.stdout = sys.stdout, io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
code = run(sys.argv[1:])
sys.stdout = out
from losscli.losses.builtin import FAMILIES
print(json.dumps([code, [f for f in FAMILIES if "losscli.losses." + f in sys.modules]]))
"""


@pytest.mark.parametrize(
    ("args", "families"),
    [
        (["eval", "regression.csv", "--loss", "mse"], ["regression"]),
        (["eval", "regression.csv", "--loss", "l2,huber"], ["regression"]),  # an alias
        (["explain", "huber"], ["regression"]),
        (["eval", "segmentation.parquet", "--loss", "dice", "--group", "image_id"], ["overlap"]),
        (["losses"], list(builtin.FAMILIES)),
        # the task inferred: the families of its default losses only
        (["eval", "regression.csv"], ["regression"]),
        (["eval", "imbalanced.csv"], ["binary"]),
        (["eval", "multiclass.csv"], ["multiclass"]),
        # a difference written without spaces: its names looked up in the index
        (["eval", "regression.csv", "--loss", "mse-mae"], ["regression"]),
    ],
    ids=[
        "eval-mse",
        "eval-alias",
        "explain-huber",
        "eval-dice",
        "losses",
        "inferred-regression",
        "inferred-imbalanced",
        "inferred-multiclass",
        "eval-difference",
    ],
)
def test_a_command_imports_the_families_of_its_losses_only(args, families):
    if args[0] == "eval":
        args = [args[0], str(SAMPLES / args[1]), *args[2:]]
    assert fresh(FAMILIES_LOADED, *args) == [0, families]


def test_the_name_index_is_the_registrations_own():
    """Fails after a loss is added or renamed until ``python -m losscli.losses.builtin``
    rewrites the index."""
    code = (
        "import json; from losscli.losses import builtin; "
        "print(json.dumps([builtin.index(), builtin.default_ranks()]))"
    )
    found, defaults = fresh(code)
    assert found == FAMILY_OF, "rewrite the index: python -m losscli.losses.builtin"
    assert defaults == DEFAULT_RANKS, "rewrite the index: python -m losscli.losses.builtin"
    assert (Path(builtin.__file__).with_name("names.py")).read_text(
        encoding="utf-8"
    ) == builtin.index_text(found, defaults)


def test_default_losses_are_the_same_before_and_after_every_family_is_loaded():
    """Each task's default losses from the index (families not loaded) are those of every
    loss's own ranks (all loaded); a loss registered at run time with a rank counts."""
    code = """
import json
from losscli.losses.builtin import FAMILIES
from losscli.losses.registry import INFERRED_TASKS, all_losses, default_losses
import sys
lazy = {task: default_losses(task) for task in INFERRED_TASKS}
loaded = [f for f in FAMILIES if "losscli.losses." + f in sys.modules]
every = all_losses()
whole = {
    task: ",".join(name for rank, name in sorted(
        (x.default_rank(task), x.name) for x in every if x.default_rank(task) is not None))
    for task in INFERRED_TASKS
}
from losscli.kernel.streaming import Elementwise
from losscli.losses.registry import register_loss

@register_loss("my_loss", inputs="real", tasks=["regression"], default_for={"regression": 3})
class Mine(Elementwise):
    pass

print(json.dumps([lazy, loaded, whole, default_losses("regression")]))
"""
    lazy, loaded, whole, mine = fresh(code)
    assert loaded == []
    assert lazy == whole
    assert whole["regression"] == "mse,rmse,mae,huber"
    assert whole["binary"] == "bce,brier"
    assert mine == "mse,rmse,mae,my_loss,huber"  # rank 3, after mae (3) by name


def test_default_losses_of_a_replaced_builtin_and_of_plugins_before_the_families_load():
    """A plug-in named as a built-in is skipped silently (its family not loaded yet), one
    with a rank counts; a built-in replaced under another spelling of its name counts by
    the replacement's ranks, not the index's."""
    code = """
import contextlib, dataclasses, importlib.metadata, io, json
from losscli.losses import registry
from losscli.losses.registry import Loss, default_losses, get_loss

class EP:
    def __init__(self, obj):
        self.name, self.obj = "plugin", obj
    def load(self):
        return self.obj

other = get_loss("bce")  # from the binary family: the regression family is not loaded
mine = dataclasses.replace(other, name="quartic", aliases=(), default_for=(("regression", 3),))
huber = dataclasses.replace(other, name="huber", aliases=(), default_for=())
importlib.metadata.entry_points = lambda group=None, **_: [EP([huber, mine])]
registry._may_have_plugins = lambda: True
err = io.StringIO()
with contextlib.redirect_stderr(err):
    with_plugins = default_losses("regression")
registry.add_loss(dataclasses.replace(get_loss("mse"), name="MSE", aliases=(), default_for=()),
                  replace=True)
print(json.dumps([with_plugins, err.getvalue(), get_loss("huber").kernel.__module__,
                  default_losses("regression")]))
"""
    with_plugins, warnings, huber_module, replaced = fresh(code)
    assert warnings == ""
    assert huber_module == "losscli.losses.regression"  # the built-in, not the plug-in
    assert with_plugins == "mse,rmse,mae,quartic,huber"
    assert replaced == "rmse,mae,quartic,huber"


def test_losses_are_listed_in_family_order_whichever_family_loaded_first():
    code = """
import json
from losscli.losses.registry import all_losses, get_loss
get_loss("average_precision"), get_loss("dice"), get_loss("bce")  # last, middle, second
print(json.dumps([x.name for x in all_losses()]))
"""
    first = fresh(code)
    plain = fresh(
        "import json; from losscli.losses.registry import all_losses as a; "
        "print(json.dumps([x.name for x in a()]))"
    )
    assert first == plain
    assert plain[:2] == ["mse", "rmse"] and plain[-1] == "average_precision"
    # each family's losses together, the families in FAMILIES' order
    families = [FAMILY_OF[name] for name in plain]
    ranks = [builtin.FAMILIES.index(f) for f in families]
    assert ranks == sorted(ranks)


def test_a_builtin_name_is_taken_before_its_family_was_loaded():
    """Registering a built-in's name (here before any family is imported) loads that
    family first: the name is refused as taken, not left to break the family's import."""
    code = """
import json
from losscli.kernel.streaming import Elementwise
from losscli.losses.registry import register_loss, get_loss
try:
    @register_loss("dice", inputs="real", tasks=["regression"])
    class Mine(Elementwise):
        pass
except ValueError as exc:
    message = str(exc)
print(json.dumps([message, get_loss("dice").kernel.__module__]))
"""
    message, module = fresh(code)
    assert "already registered" in message and "dice" in message
    assert module == "losscli.losses.overlap"


def test_an_unknown_name_still_loads_every_family_for_its_hint():
    code = """
import json
from losscli.errors import UsageError
from losscli.losses.registry import get_loss
try:
    get_loss("diec")
except UsageError as exc:
    print(json.dumps(str(exc) + " " + (exc.hint or "")))
"""
    assert "did you mean dice" in fresh(code)


def test_the_index_is_rewritten_from_the_registrations_not_from_itself():
    """A stale index (a name under the wrong family) does not leak into its rewrite."""
    code = """
import json
from losscli.losses import builtin, names
names.FAMILY_OF = {**names.FAMILY_OF, "mse": "binary", "bce": "overlap"}
print(json.dumps(builtin.index()))
"""
    assert fresh(code) == FAMILY_OF
