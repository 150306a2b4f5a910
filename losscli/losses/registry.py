"""The loss registry: one declaration per loss, found by name or alias.

A loss is declared once, with ``register_loss``; everything the commands need
(name, aliases, tasks, expected inputs, parameters, the math, the explain text)
hangs off that one ``Loss`` object. External packages add losses through the
entry-point group ``losscli.losses`` (each entry point names a ``Loss`` or a
callable returning one or several).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType

from losscli.errors import UsageError
from losscli.kernel.streaming import Kernel
from losscli.losses.params import Param

TASKS = (
    "regression",
    "robust-regression",
    "counts",
    "quantile",
    "binary",
    "multiclass",
    "multilabel",
    "imbalanced",
    "segmentation",
    "similarity",
    "sequence",
    "distribution",
)

TASK_SPELLINGS = {
    "reg": "regression",
    "robust": "robust-regression",
    "robust_regression": "robust-regression",
    "outliers": "robust-regression",
    "count": "counts",
    "poisson": "counts",
    "quantiles": "quantile",
    "binary-classification": "binary",
    "binary_classification": "binary",
    "multi-class": "multiclass",
    "multi_class": "multiclass",
    "multiclass-classification": "multiclass",
    "multi-class-classification": "multiclass",
    "multi-label-classification": "multilabel",
    "multilabel-classification": "multilabel",
    "imbalanced-classification": "imbalanced",
    "imbalanced-data": "imbalanced",
    "similarity-learning": "similarity",
    "sequence-models": "sequence",
    "sequence-model": "sequence",
    "text": "sequence",
    "multi-label": "multilabel",
    "multi_label": "multilabel",
    "imbalance": "imbalanced",
    "class-imbalance": "imbalanced",
    "segment": "segmentation",
    "metric-learning": "similarity",
    "siamese": "similarity",
    "nlp": "sequence",
    "language-model": "sequence",
    "seq": "sequence",
    "distributions": "distribution",
}

# What a loss reads from a file; the CLI resolves columns from this.
INPUT_KINDS = {
    "real": "real target y and prediction ŷ (one column each, or m paired columns)",
    "gaussian": "real target y, predicted mean ŷ and a variance column (--var)",
    "binary": "0/1 target(s) and probability or logit column(s)",
    "margin": "±1 (or 0/1) target and a raw score column",
    "multiclass": "integer/string label or K target columns, and K probability/logit columns",
    "log_probs": "integer label and K log-probability columns",
    "distribution": "K target-distribution columns and K probability/logit columns",
    "overlap": "0/1 mask (or class label) and probability column(s), one per class",
    "pair_distance": "0/1 similarity target and a distance column",
    "triplet": "two distance columns (d_ap, d_an) or anchor/positive/negative embeddings",
    "ranking": "±1 target and two score columns x1, x2",
    "pair_embedding": "±1 target and two embedding column families",
    "labelled_embedding": "integer class label and an embedding's D columns, one row per sample",
}


@dataclass(frozen=True)
class Explain:
    """What ``losscli explain`` shows about a loss."""

    formula: str
    gradient: str
    use_when: str
    pitfalls: str
    activation: str
    differences: str = ""
    properties: str = ""


# The tasks that ``eval`` infers from the data and evaluates default losses for (``Loss.
# default_for``): the task names, multi-class with a rare class, and binary with ±1 targets
# (raw scores: the margin losses).
INFERRED_TASKS = (*TASKS, "multiclass-imbalanced", "binary-margin")

# What a registered entry is: a loss to minimise, or an evaluation metric (a skill
# score or a calibration measure) that is reported beside the losses.
KINDS = ("loss", "metric")
# Which way is better: "lower" (every loss), "higher" (skill scores such as D²),
# or None for a quantity that describes the data, not the model (Brier uncertainty).
DIRECTIONS = ("lower", "higher", None)


@dataclass(frozen=True)
class Loss:
    """A registered loss or metric: identity, inputs, parameters, math and explanation.

    ``params`` are what users set; ``options`` are the kernel options that only the
    binding sets (``losscli.binding.conventions``), declared so that an unknown one is an
    error. ``kind`` is "loss" or "metric"; ``better`` says which way is better ("lower",
    "higher", or None when the value does not rank models). ``--fail-above`` gates
    lower-is-better entries, ``--fail-below`` higher-is-better ones.
    """

    name: str
    kernel: Kernel
    inputs: str
    tasks: tuple[str, ...]
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    logits: bool = False
    explain: Explain | None = None
    summary: str = ""
    source: str = "losscli"
    kind: str = "loss"
    better: str | None = "lower"
    #: kernel options the binding may set (conventions, aliases); not user parameters
    options: tuple[Param, ...] = ()
    #: the real inputs must be positive (msle, poisson, …): ``plot`` draws it over ŷ > 0
    positive: bool = False
    #: (inferred task, rank): evaluated by default for that task, in rank order
    default_for: tuple[tuple[str, int], ...] = ()

    @property
    def ratio(self) -> bool:
        return self.kernel.ratio

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def option(self, name: str) -> Param | None:
        return next((p for p in self.options if p.name == name), None)

    def default_rank(self, task: str) -> int | None:
        """Where this loss comes in the default losses of an inferred ``task`` (None: not one)."""
        return dict(self.default_for).get(task)


# Names that stand for several metrics, one result row each (``--loss brier_decomposition``).
BUNDLES = {
    "brier_decomposition": ("brier", "brier_reliability", "brier_resolution", "brier_uncertainty"),
}

_REGISTRY: dict[str, Loss] = {}
_ALIASES: dict[str, str] = {}
_entry_points_loaded = False
# whether a lookup imports the family its index names (off while the index is rewritten)
_LOOKUP_FAMILIES = True


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def add_loss(loss: Loss, *, replace: bool = False) -> Loss:
    """Put a Loss into the registry (names and aliases must be unused)."""
    if loss.inputs not in INPUT_KINDS:
        raise ValueError(f"{loss.name}: unknown input kind {loss.inputs!r}")
    if loss.kind not in KINDS or loss.better not in DIRECTIONS:
        raise ValueError(f"{loss.name}: kind must be one of {KINDS}, better one of {DIRECTIONS}")
    unknown = [t for t in loss.tasks if t not in TASKS]
    unknown += [t for t, _ in loss.default_for if t not in INFERRED_TASKS]
    if unknown:
        raise ValueError(f"{loss.name}: unknown task(s) {unknown}")
    both = {p.name for p in loss.params} & {p.name for p in loss.options}
    if both:
        raise ValueError(f"{loss.name}: {sorted(both)} both a parameter and a kernel option")
    keys = [_key(loss.name), *(_key(a) for a in loss.aliases)]
    for key in keys:  # a built-in of the name first: it is taken, or replaced for good
        _load_family_of(key)
    if not replace:
        taken = [k for k in keys if k in _REGISTRY or k in _ALIASES]
        if taken:
            raise ValueError(f"{loss.name}: name or alias already registered: {taken}")
    _REGISTRY[keys[0]] = loss
    for alias in keys[1:]:
        _ALIASES[alias] = keys[0]
    return loss


def register_loss(
    name: str,
    *,
    inputs: str,
    tasks: Iterable[str],
    params: Iterable[Param] = (),
    aliases: Iterable[str] = (),
    logits: bool = False,
    explain: Explain | None = None,
    summary: str = "",
    kind: str = "loss",
    better: str | None = "lower",
    options: Iterable[Param] = (),
    positive: bool = False,
    default_for: Mapping[str, int] | None = None,
) -> Callable[[type[Kernel]], type[Kernel]]:
    """Class decorator: register the decorated Kernel subclass under ``name``.

    >>> @register_loss("my_l4", inputs="real", tasks=["regression"])
    ... class L4(Elementwise): ...
    """

    def decorate(kernel_cls: type[Kernel]) -> type[Kernel]:
        add_loss(
            Loss(
                name=name,
                kernel=kernel_cls(),
                inputs=inputs,
                tasks=tuple(tasks),
                params=tuple(params),
                aliases=tuple(aliases),
                logits=logits,
                explain=explain,
                summary=summary or next(iter((kernel_cls.__doc__ or "").strip().splitlines()), ""),
                source=kernel_cls.__module__.split(".")[0],
                kind=kind,
                better=better,
                options=tuple(options),
                positive=positive,
                default_for=tuple((default_for or {}).items()),
            )
        )
        return kernel_cls

    return decorate


def _load_builtins() -> None:
    from losscli.losses import builtin

    builtin.load_all()


def _index() -> ModuleType | None:
    """The index of the built-ins (``losses/names.py``: ``FAMILY_OF``, ``DEFAULT_RANKS``),
    or None while it is being rewritten (or missing): then every family is loaded."""
    if not _LOOKUP_FAMILIES:
        return None
    try:
        from losscli.losses import names
    except ImportError:
        return None
    return names


def _load_family_of(key: str) -> None:
    """Import the built-in family that registers ``key``, if one does (``builtin``)."""
    index = _index()
    if index is None:
        return
    family = index.FAMILY_OF.get(key)
    if family is not None:
        from losscli.losses import builtin

        builtin.load(family)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    if not _may_have_plugins():
        return
    from importlib.metadata import entry_points

    for ep in entry_points(group="losscli.losses"):
        try:
            obj = ep.load()
            if callable(obj) and not isinstance(obj, Loss):
                obj = obj()
            for loss in obj if isinstance(obj, (list, tuple)) else [obj]:
                if not isinstance(loss, Loss):
                    continue
                _load_family_of(_key(loss.name))  # a built-in's name is taken, loaded or not
                if _key(loss.name) not in _REGISTRY:
                    add_loss(loss)
        except Exception as exc:  # a broken plug-in must not break the tool
            import sys

            print(f"warning: losscli plug-in {ep.name!r} failed to load: {exc}", file=sys.stderr)


def _may_have_plugins() -> bool:
    """False only when no installed distribution declares a ``losscli.losses`` entry point.

    A quick look at each ``entry_points.txt`` on ``sys.path`` (about 1 ms) spares
    ``importlib.metadata`` (about 30 ms) on every run of ``losscli losses`` without
    plug-ins. Anything it cannot look into (a zip on the path) counts as a maybe.
    """
    import os
    import sys

    for entry in sys.path:
        if not entry:
            continue
        if not os.path.isdir(entry):
            if os.path.exists(entry):
                return True
            continue
        try:
            with os.scandir(entry) as items:
                names = [i.path for i in items if i.name.endswith((".dist-info", ".egg-info"))]
        except OSError:
            return True
        for path in names:
            try:
                with open(os.path.join(path, "entry_points.txt"), "rb") as f:
                    if b"losscli.losses" in f.read():
                        return True
            except OSError:
                continue
    return False


def all_losses() -> list[Loss]:
    """Every registered loss: the built-ins in their families' order (``builtin.FAMILIES``,
    whichever family a lookup loaded first), then the others in registration order."""
    from losscli.losses.builtin import FAMILIES
    from losscli.losses.names import FAMILY_OF

    _load_builtins()
    _load_entry_points()
    rank = {family: i for i, family in enumerate(FAMILIES)}
    last = len(FAMILIES)
    return sorted(_REGISTRY.values(), key=lambda x: rank.get(FAMILY_OF.get(_key(x.name)), last))


def is_name(name: str) -> bool:
    """Whether ``name`` is a loss's name or alias, or a bundle's (case and hyphens as
    ``get_loss`` takes them), without loading every family as an unknown name in
    ``get_loss`` does: the built-ins by their index, plug-ins once they are loaded."""
    key = _key(name)
    if key in _REGISTRY or key in _ALIASES or key in BUNDLES:
        return True
    index = _index()
    if index is not None:
        return key in index.FAMILY_OF
    try:
        get_loss(name)
    except UsageError:
        return False
    return True


def get_loss(name: str) -> Loss:
    """The Loss registered under ``name`` or one of its aliases (case-insensitive).

    An unknown name raises UsageError with a did-you-mean hint.
    """
    if not isinstance(name, str):
        raise TypeError(f"a loss name is a str such as 'mse', not {name!r}")
    key = _key(name)
    if _ALIASES.get(key, key) not in _REGISTRY:
        _load_family_of(key)
    if _ALIASES.get(key, key) not in _REGISTRY:
        _load_builtins()
        _load_entry_points()  # scanned only for names the built-ins lack
    key = _ALIASES.get(key, key)
    if key in _REGISTRY:
        return _REGISTRY[key]
    if key in BUNDLES:
        raise UsageError(
            f"{name!r} is not one loss but several: {', '.join(BUNDLES[key])}",
            hint=f"select it with --loss {key} (one result per metric), or explain each one",
        )
    if key in _ELSEWHERE:
        raise UsageError(f"unknown loss {name!r}", hint=_ELSEWHERE[key])
    known = sorted([*_REGISTRY, *_ALIASES, *BUNDLES])
    import difflib

    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}?" if close else "run 'losscli losses' to list them"
    raise UsageError(f"unknown loss {name!r}", hint=hint)


# Names users reach for that the registry spells another way (not aliases: not the same name).
_ELSEWHERE = {
    "rmse": "rmse is √mse: --loss mse (its square root is the RMSE)",
    "root_mean_squared_error": "rmse is √mse: --loss mse (its square root is the RMSE)",
}


def bundle_members(name: str) -> tuple[str, ...] | None:
    """The metrics a bundle name stands for (``brier_decomposition``), None for other names."""
    return BUNDLES.get(_key(name))


def normalize_task(task: str) -> str:
    """The canonical task name for a spelling such as ``multi-class`` or ``nlp``."""
    key = task.strip().lower().replace(" ", "-")
    if key in TASKS:
        return key
    key = TASK_SPELLINGS.get(key, TASK_SPELLINGS.get(key.replace("-", "_"), key))
    if key in TASKS:
        return key
    import difflib

    close = difflib.get_close_matches(task.lower(), [*TASKS, *TASK_SPELLINGS], n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise UsageError(f"unknown task {task!r}", hint=f"{hint}tasks: {', '.join(TASKS)}")


def default_losses(task: str) -> str:
    """The losses evaluated by default for an inferred ``task``, as a ``--loss`` text
    (``Loss.default_for`` gives each one's rank, ties by name).

    The built-in families not loaded yet are read from the index (``names.DEFAULT_RANKS``),
    so that inferring a task imports only the families of the losses it picks; every
    registered loss (plug-ins, losses added at run time, a built-in replaced) counts by
    its own ``default_for``."""
    index = _index()
    ranks: dict[str, tuple[int | None, str]] = {}  # registry key → (rank, name)
    if index is None:
        all_losses()
    else:
        _load_entry_points()
        ranks = {key: (rank, key) for key, rank in index.DEFAULT_RANKS.get(task, {}).items()}
    ranks.update({key: (loss.default_rank(task), loss.name) for key, loss in _REGISTRY.items()})
    return ",".join(name for rank, name in sorted(r for r in ranks.values() if r[0] is not None))


def available_losses(task: str | None = None) -> list[str]:
    """Names of the registered losses, optionally only those suited to ``task``."""
    losses = all_losses()
    if task is None:
        return [loss.name for loss in losses]
    canonical = normalize_task(task)
    return [loss.name for loss in losses if canonical in loss.tasks]
