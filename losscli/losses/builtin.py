"""The built-in loss families and metrics, imported as they are needed.

``FAMILIES`` names the modules in the order ``losscli losses`` lists their losses.
``registry`` imports the one family that registers a name it is asked for (``names``,
the index of every built-in name and alias, written by this module), and every family
when all the losses are asked for, so ``eval --loss mse`` and ``explain huber`` load
the regression family alone.

After adding or renaming a loss, rewrite the index (a test fails until you do)::

    python -m losscli.losses.builtin
"""

from __future__ import annotations

import importlib

FAMILIES = (
    "regression",
    "binary",
    "multiclass",
    "divergence",
    "noisy_labels",
    "overlap",
    "lovasz",
    "similarity",
    "metrics.skill",
    "metrics.calibration",
    "metrics.classification",
)


def load(family: str) -> None:
    """Import one family (its module registers its losses)."""
    importlib.import_module(f"losscli.losses.{family}")


def load_all() -> None:
    for family in FAMILIES:
        load(family)


def index() -> dict[str, str]:
    """Each built-in name and alias (the registry's key) → the family that registers it,
    from the registrations themselves: the families imported in order into a registry
    that holds no built-in yet (run in a fresh interpreter)."""
    from losscli.losses import registry

    found: dict[str, str] = {}
    registry._LOOKUP_FAMILIES = False  # the index being rewritten may be stale or missing
    try:
        for family in FAMILIES:
            before = {*registry._REGISTRY, *registry._ALIASES}
            load(family)
            for key in [*registry._REGISTRY, *registry._ALIASES]:
                if key not in before:
                    found[key] = family
    finally:
        registry._LOOKUP_FAMILIES = True
    return found


def default_ranks() -> dict[str, dict[str, int]]:
    """Each task → the built-in losses evaluated by default when it is inferred, with their
    ranks (``Loss.default_for``), from the registrations (after ``index``, every family
    loaded)."""
    from losscli.losses import registry

    ranks: dict[str, dict[str, int]] = {}
    for key, loss in registry._REGISTRY.items():
        for task, rank in loss.default_for:
            ranks.setdefault(task, {})[key] = rank
    return {task: dict(sorted(ranks[task].items())) for task in sorted(ranks)}


def index_text(found: dict[str, str], defaults: dict[str, dict[str, int]]) -> str:
    """The source of ``losscli/losses/names.py``."""
    lines = [
        '"""Which built-in family registers each loss name and alias (the registry\'s keys),',
        "and the built-in losses each inferred task evaluates by default, with their ranks.",
        "",
        "Written by ``python -m losscli.losses.builtin``; do not edit.",
        '"""',
        "",
        "FAMILY_OF = {",
        *(f'    "{key}": "{family}",' for key, family in found.items()),
        "}",
        "",
        "DEFAULT_RANKS = {",
        *(f'    "{task}": {_dict_text(ranks)},' for task, ranks in defaults.items()),
        "}",
        "",
    ]
    return "\n".join(lines)


def _dict_text(ranks: dict[str, int]) -> str:
    return "{" + ", ".join(f'"{name}": {rank}' for name, rank in ranks.items()) + "}"


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).with_name("names.py")
    target.write_text(index_text(index(), default_ranks()), encoding="utf-8")
    print(f"wrote {target}")
