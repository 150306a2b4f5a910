"""Losses bound to their parameters, single or as linear combinations.

An objective turns raw batches into partial sums, a value and per-row gradients.
A composite ``Σ c_k J_k`` reduces and differentiates linearly: its sums are the
terms' sums side by side, its value Σ c_k J_k and its gradient Σ c_k ∂J_k.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from losscli._lazy import np
from losscli.binding.libraries import normalize_library
from losscli.binding.spec import LossSpec, parse_specs
from losscli.errors import ParamError, UsageError
from losscli.kernel.streaming import (
    MEAN_WITH_SAMPLE_WEIGHT,
    ROW_STATISTICS,
    Batch,
    PartialSums,
    check_reduction,
    kernel_reduction,
)
from losscli.losses.params import resolve, resolve_options
from losscli.losses.registry import Loss, all_losses, get_loss, is_name

if TYPE_CHECKING:  # the records load only when a convention is asked for
    from losscli.binding.conventions import Convention


@dataclass
class BoundLoss:
    """A registered loss with its validated parameters (and kernel options of a convention)."""

    loss: Loss
    params: dict[str, Any]
    convention: Convention | None = None

    @property
    def name(self) -> str:
        return self.loss.name

    @property
    def inputs(self) -> str:
        return self.loss.inputs

    @property
    def ratio(self) -> bool:
        return self.loss.kernel.ratio

    @property
    def neg_inf_logits(self) -> bool:
        """Its prediction columns may hold −inf (safe_softmax_cross_entropy's logits)."""
        return bool(self.params.get("neg_inf_logits")) and bool(self.params.get("from_logits"))

    def check_reduction(self, reduction: str) -> None:
        check_reduction(self.loss.name, self.loss.kernel, reduction)

    def for_reduction(self, reduction: str) -> BoundLoss:
        """This loss as ``reduction`` needs it: median, max and p95 keep every Lᵢ
        (``losscli.kernel.row_statistics``); mean_with_sample_weight divides by Σwᵢ, so a
        convention's ``denominator="count"`` (Keras's n) is dropped; the other reductions use
        the loss as it is."""
        if reduction == MEAN_WITH_SAMPLE_WEIGHT and self.params.get("denominator") == "count":
            return replace(self, params={**self.params, "denominator": None})
        if reduction not in ROW_STATISTICS:
            return self
        from losscli.kernel.row_statistics import RowStatistic

        kernel = RowStatistic(self.loss.kernel, reduction)
        return BoundLoss(replace(self.loss, kernel=kernel), self.params)

    def prepare(self, batch: Batch) -> Batch:
        """The kernel's ``prepare`` of ``batch`` (labels checked and converted, …), done
        once per batch however many times the pass asks: its sums, grouped sums, Lᵢ and
        gradient then share one prepared batch (and its ``memo``), kept in the batch's
        ``memo`` (so it lives as long as the batch, and threads reading other parts of a
        file keep their own)."""
        kernel, params = self.loss.kernel, self.params
        return batch.kept(
            ("prepared", id(kernel)), kernel, params, lambda: kernel.prepare(batch, params)
        )

    def update(self, batch: Batch) -> PartialSums:
        return self.loss.kernel.update(self.prepare(batch), self.params)

    def update_grouped(self, batch: Batch, codes: np.ndarray, size: int) -> PartialSums:
        return self.loss.kernel.update_grouped(self.prepare(batch), self.params, codes, size)

    def compute(self, sums: Mapping[str, Any], reduction: str) -> float:
        return self.loss.kernel.compute(sums, self.params, kernel_reduction(reduction))

    @property
    def rows_need_sums(self) -> bool:
        """Its Lᵢ need the merged sums of every row (``Kernel.rows_need_sums``)."""
        return self.loss.kernel.rows_need_sums

    def rows(self, batch: Batch, sums: Mapping[str, Any] | None = None) -> np.ndarray:
        """Per-row Lᵢ; ``sums`` (the merged sums of every row) reach the kernels whose
        values need them and no other."""
        kernel = self.loss.kernel
        if not kernel.rows_need_sums:
            return kernel.rows(self.prepare(batch), self.params)
        if sums is None:
            raise UsageError(
                f"{self.name}: a row's value depends on the other rows; it needs the merged "
                "sums of every row"
            )
        return kernel.rows(self.prepare(batch), self.params, sums)

    def grad(self, batch: Batch, sums: Mapping[str, Any], reduction: str) -> tuple[np.ndarray, ...]:
        return self.loss.kernel.grad(
            self.prepare(batch), sums, self.params, kernel_reduction(reduction)
        )

    def gradient_sums(
        self, rows: Callable[[], int | None], reduction: str, weighted: bool
    ) -> PartialSums | None:
        """The merged sums ``grad`` reads, known from the row count before the pass (the
        kernel's ``gradient_sums``), or None."""
        return self.loss.kernel.gradient_sums(
            rows, self.params, kernel_reduction(reduction), weighted
        )

    def breakdown(self, targets: int, predictions: int) -> str | None:
        if self.params.get("focal_layout") == "categorical":
            targets = 1  # one-hot target columns are read as one label per row
        return self.loss.kernel.breakdown(targets, predictions)

    @property
    def combines(self) -> str:
        return self.loss.kernel.combines

    def class_codes(self, batch: Batch) -> np.ndarray:
        return self.loss.kernel.class_codes(self.prepare(batch), self.params)

    def class_sums(self, sums: Mapping[str, Any], c: int) -> PartialSums:
        return self.loss.kernel.class_sums(sums, c)

    def user_params(self) -> dict[str, Any]:
        """Parameters as results report them (all declared ones, with defaults filled; not
        those the loss takes only under another library's convention)."""
        library = self.convention.library if self.convention is not None else None
        return {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in self.params.items()
            if (p := self.loss.param(k)) is not None and p.convention in (None, library)
        }


@dataclass
class Composite:
    """Σ c_k · J_k over terms that read the same inputs."""

    terms: list[tuple[float, BoundLoss]]

    @property
    def inputs(self) -> str:
        return self.terms[0][1].inputs

    @property
    def ratio(self) -> bool:
        return any(t.ratio for _, t in self.terms)

    @property
    def neg_inf_logits(self) -> bool:
        return all(t.neg_inf_logits for _, t in self.terms)

    def check_reduction(self, reduction: str) -> None:
        for _, term in self.terms:
            term.check_reduction(reduction)

    def for_reduction(self, reduction: str) -> Composite:
        """Each term reduced by itself: J = Σ c_k · median_k (linear, as for every reduction)."""
        return Composite([(c, t.for_reduction(reduction)) for c, t in self.terms])

    def update(self, batch: Batch) -> PartialSums:
        return PartialSums({str(i): t.update(batch) for i, (_, t) in enumerate(self.terms)})

    def update_grouped(self, batch: Batch, codes: np.ndarray, size: int) -> PartialSums:
        return PartialSums(
            {str(i): t.update_grouped(batch, codes, size) for i, (_, t) in enumerate(self.terms)}
        )

    def compute(self, sums: Mapping[str, Any], reduction: str) -> float:
        return float(
            sum(c * t.compute(sums[str(i)], reduction) for i, (c, t) in enumerate(self.terms))
        )

    @property
    def rows_need_sums(self) -> bool:
        return any(t.rows_need_sums for _, t in self.terms)

    def rows(self, batch: Batch, sums: Mapping[str, Any] | None = None) -> np.ndarray:
        return sum(
            c * t.rows(batch, None if sums is None else sums[str(i)])
            for i, (c, t) in enumerate(self.terms)
        )

    def grad(self, batch: Batch, sums: Mapping[str, Any], reduction: str) -> tuple[np.ndarray, ...]:
        total: list[np.ndarray] | None = None
        for i, (c, t) in enumerate(self.terms):
            # reduction none differentiates each row alone and needs no merged sums
            g = t.grad(batch, sums.get(str(i), PartialSums()), reduction)
            total = [c * x for x in g] if total is None else [a + c * x for a, x in zip(total, g)]
        return tuple(total)

    def gradient_sums(
        self, rows: Callable[[], int | None], reduction: str, weighted: bool
    ) -> PartialSums | None:
        """Each term's, when every term's is known before the pass; else None."""
        parts = [t.gradient_sums(rows, reduction, weighted) for _, t in self.terms]
        if any(part is None for part in parts):
            return None
        return PartialSums({str(i): part for i, part in enumerate(parts)})

    def breakdown(self, targets: int, predictions: int) -> str | None:
        """The terms' common breakdown; None when they split differently."""
        kinds = {t.breakdown(targets, predictions) for _, t in self.terms}
        return kinds.pop() if len(kinds) == 1 else None

    @property
    def combines(self) -> str:
        forms = {t.combines for _, t in self.terms}
        return forms.pop() if forms == {"J"} else "per term"

    def class_codes(self, batch: Batch) -> np.ndarray:
        return self.terms[0][1].class_codes(batch)

    def class_sums(self, sums: Mapping[str, Any], c: int) -> PartialSums:
        return PartialSums(
            {str(i): t.class_sums(sums[str(i)], c) for i, (_, t) in enumerate(self.terms)}
        )

    def user_params(self) -> dict[str, Any]:
        return {f"{t.name}.{k}": v for _, t in self.terms for k, v in t.user_params().items()}


Objective = BoundLoss | Composite


def bind_term(
    name: str,
    inline: Mapping[str, Any],
    shared: Mapping[str, Any],
    from_logits: bool | None,
    convention: str | None = None,
) -> BoundLoss:
    """Bind one loss: inline params win over shared ones; shared ones it lacks are skipped.

    With a ``convention`` (torch, keras, sklearn, optax) the library's parameter values
    are the defaults that given parameters override, its kernel options are added, and
    ``from_logits=None`` reads the columns as the library does by default.
    """
    loss = get_loss(name)
    record = None
    if convention:  # a name such as l2 may select another function of the library
        from losscli.binding.conventions import lookup, lookup_alias

        record = lookup_alias(name, loss.name, convention) or lookup(loss.name, convention)
    library = normalize_library(convention) if convention else None
    declared = {p.name for p in loss.params}
    # a shared option skips a loss that takes it only under another convention
    takes = {p.name for p in loss.params if p.convention in (None, library)}
    alias = name.strip().lower().replace("-", "_")
    given = {**PARAMS_OF_ALIAS.get(alias, {}), **(record.params if record else {})}
    given.update({k: v for k, v in shared.items() if k in takes})
    for key in inline.keys() & given.keys() & shared.keys():
        _same_value(loss, key, inline[key], shared[key])
    given.update(inline)
    params = resolve(loss.params, given, loss.name)
    for p in loss.params:
        if p.convention not in (None, library) and params[p.name] != p.default:
            raise ParamError(
                p.name,
                params[p.name],
                f"left at {p.default} without --convention {p.convention}, the library that "
                f"defines {p.name} for {loss.name}",
                loss.name,
            )
    # Which parameters were chosen rather than defaulted (a kernel may refuse a default
    # that the data makes meaningless, e.g. mape's eps floor on a zero target); a
    # convention chooses them all: it reproduces its library's number.
    params["chosen"] = frozenset(declared if record else given)
    if from_logits is None:
        from_logits = bool(record and record.from_logits)
    params["from_logits"] = bool(from_logits and loss.logits)
    options = {**OPTIONS_OF_ALIAS.get(alias, {}), **(record.options if record else {})}
    form = FORM_OF_ALIAS.get(alias)
    if form:  # categorical_focal / sigmoid_focal: the name fixes the form of focal
        options["focal_layout"] = form
    params.update(resolve_options(loss.options, options, loss.name))
    return BoundLoss(loss, params, record)


# Names of focal that fix its form (Keras's CategoricalFocalCrossentropy and
# BinaryFocalCrossentropy): one-hot target columns are class labels, or columns apart.
FORM_OF_ALIAS = {
    "categorical_focal": "categorical",
    "binary_focal": "sigmoid",
    "sigmoid_focal": "sigmoid",
}


# Names that fix a kernel option with or without --convention (safe_softmax_cross_entropy:
# optax's cross-entropy that takes logits of −inf).
OPTIONS_OF_ALIAS: dict[str, dict[str, Any]] = {
    "safe_softmax_cross_entropy": {"neg_inf_logits": True},
}
# Names that set a parameter's default (given parameters still win): optax's
# multiclass_perceptron_loss is multi_hinge with margin 0; f1_macro is f1 with average=macro.
PARAMS_OF_ALIAS: dict[str, dict[str, Any]] = {
    "multiclass_perceptron": {"margin": 0.0},
    # scikit-learn's scorer names: the average of precision, recall and F1
    **{
        f"{metric}_{average}": {"average": average}
        for metric in ("precision", "recall", "f1")
        for average in ("macro", "weighted")
    },
}


def _same_value(loss: Loss, key: str, inline: Any, shared: Any) -> None:
    """A parameter both inline and as an option must agree; otherwise neither silently wins."""
    param = loss.param(key)
    if param.validate(inline, loss.name) != param.validate(shared, loss.name):
        flag = "--" + key.replace("_", "-")
        raise UsageError(
            f"{loss.name}: parameter {key} given twice with different values: {key}={inline} "
            f"in the loss spec and {key}={_shown(shared)} as an option ({flag})",
            hint=f"give it once: in the spec, {loss.name}({key}=...), or as {flag}",
        )


def _shown(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(f"{v:g}" for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def bind(
    spec: LossSpec,
    shared: Mapping[str, Any] | None = None,
    from_logits: bool | None = None,
    convention: str | None = None,
) -> Objective:
    """Turn a parsed spec into an objective (a composite when it has coefficients or terms).

    A composite's terms all read the same target and prediction columns (bce + dice,
    mse + mae); each term validates the data for itself.
    """
    shared = shared or {}
    bound = [
        (t.coef, bind_term(t.name, t.params, shared, from_logits, convention)) for t in spec.terms
    ]
    if not spec.is_composite:
        return bound[0][1]
    metrics = [t.name for _, t in bound if t.loss.kind != "loss"]
    if metrics:
        raise UsageError(
            f"{metrics[0]} is a metric, not a loss: it cannot be part of the combination {spec.label!r}",
            hint="select metrics on their own, e.g. --loss 'mse,d2_tweedie'",
        )
    return Composite(bound)


def expand_bundles(specs: list[LossSpec]) -> list[LossSpec]:
    """Replace a bundle name (``brier_decomposition(bins=10)``) by its metrics, each with the
    inline parameters it takes (``brier_reliability(bins=10)``, …, ``brier_uncertainty``)."""
    from losscli.binding.spec import Term
    from losscli.errors import ParamError
    from losscli.losses.registry import bundle_members

    out = []
    for spec in specs:
        bundled = [t for t in spec.terms if bundle_members(t.name)]
        if not bundled:
            out.append(spec)
            continue
        name = bundled[0].name
        if spec.is_composite:
            raise UsageError(
                f"{name} stands for several metrics; it cannot be part of the combination {spec.label!r}"
            )
        members = [get_loss(m) for m in bundle_members(name)]
        inline = spec.terms[0].params
        declared = {p.name for m in members for p in m.params}
        for key, value in inline.items():
            if key not in declared:
                raise ParamError(key, value, f"one of {', '.join(sorted(declared))}", name)
        for member in members:
            own = {k: v for k, v in inline.items() if member.param(k)}
            text = member.name + (
                f"({','.join(f'{k}={v}' for k, v in own.items())})" if own else ""
            )
            out.append(LossSpec(text, [Term(member.name, 1.0, own)]))
    return out


def _refuse_hyphenated_names(text: str) -> None:
    """``--loss binary-cross-entropy``, ``poisson-nll`` or ``smooth-l1-mae``: a loss's name
    written with hyphens reads as names subtracted (``explain`` takes hyphens, so users
    type them). When two or more of the joined names make a loss's name, that is a usage
    error saying how to write the loss, and the difference where every part is a loss.
    Names are looked up without loading every family (``registry.is_name``)."""
    from losscli.binding.spec import joined_by_minus

    for names in joined_by_minus(text):
        spans = _name_spans(names)
        if not spans:
            continue
        pieces, renamed, at = [], [], 0
        for i, j in spans:
            pieces += names[at:i]
            joined = "_".join(names[i:j]).lower()
            pieces.append(joined)
            try:
                canonical = get_loss(joined).name
            except UsageError:  # a bundle's name
                canonical = joined
            if canonical != joined:
                renamed.append((joined, canonical))
            at = j
        pieces += names[at:]
        rewrite = "-".join(pieces)
        hint = f"for the loss write {rewrite}" if len(pieces) == 1 else f"write {rewrite}"
        if renamed and len(pieces) == 1:
            hint += f" ({renamed[0][1]})"
        elif renamed:
            hint += " (" + ", ".join(f"{a} is {b}" for a, b in renamed) + ")"
        if all(is_name(name) for name in names):
            hint += f"; for {' minus '.join(names)} put spaces around '-': '{' - '.join(names)}'"
        raise UsageError(
            f"loss {'-'.join(names)!r} reads as {' minus '.join(names)}: in a loss "
            "expression '-' subtracts one loss from another",
            hint=hint,
        )


def _name_spans(names: list[str]) -> list[tuple[int, int]]:
    """The runs ``names[i:j]`` of two or more names whose underscored join is a loss's name,
    the longest first from the left."""
    spans, i = [], 0
    while i < len(names) - 1:
        for j in range(len(names), i + 1, -1):
            if is_name("_".join(names[i:j])):
                spans.append((i, j))
                i = j
                break
        else:
            i += 1
    return spans


def objectives_for(
    text: str,
    shared: Mapping[str, Any] | None = None,
    from_logits: bool | None = None,
    convention: str | None = None,
) -> list[tuple[str, Objective]]:
    """Parse and bind a ``--loss`` text: [(label, objective), …].

    A shared parameter that no selected loss takes is a usage error, as is
    ``from_logits`` when no selected loss reads logits. ``convention`` names a
    library whose definitions every loss follows (``losscli.binding.conventions``).
    """
    shared = dict(shared or {})
    specs = parse_specs(text)
    _refuse_hyphenated_names(text)
    specs = expand_bundles(specs)
    out = [(s.label, bind(s, shared, from_logits, convention)) for s in specs]
    names = [get_loss(t.name) for s in specs for t in s.terms]
    library = normalize_library(convention) if convention else None
    for key in shared:
        params = [p for loss in names if (p := loss.param(key)) is not None]
        if not any(p.convention in (None, library) for p in params):
            elsewhere = sorted({p.convention for p in params if p.convention})
            raise UsageError(
                f"no selected loss takes the parameter {key!r} ({', '.join(dict.fromkeys(n.name for n in names))})",
                hint=f"{key} is taken under --convention {' or '.join(elsewhere)}"
                if elsewhere
                else "run 'losscli losses' to see each loss's parameters",
            )
    if from_logits and not any(loss.logits for loss in names):
        raise UsageError(
            "--from-logits given, but no selected loss reads logits",
            hint=f"logits apply to {', '.join(x.name for x in all_losses() if x.logits)}",
        )
    return out


def conventions_of(objectives: list[tuple[str, Objective]]) -> list[Convention]:
    """The distinct convention records the objectives were bound with, in order."""
    out: list[Convention] = []
    for _, obj in objectives:
        terms = [t for _, t in obj.terms] if isinstance(obj, Composite) else [obj]
        out += [t.convention for t in terms if t.convention and t.convention not in out]
    return out
