"""The command-line options that several commands share, declared once.

Each is an ``Annotated`` type a command's signature reuses, so ``eval``, ``grad``,
``compare`` and ``recommend`` spell, document and complete a flag the same way.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import typer

from losscli.errors import UsageError


class EvalFormat(str, Enum):
    """Output formats of ``eval`` and ``compare``."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    junit = "junit"


class Reduction(str, Enum):
    mean = "mean"
    sum = "sum"
    none = "none"
    median = "median"
    max = "max"
    p95 = "p95"
    mean_with_sample_weight = "mean_with_sample_weight"


class GradReduction(str, Enum):
    mean = "mean"
    sum = "sum"
    median = "median"
    max = "max"
    p95 = "p95"
    mean_with_sample_weight = "mean_with_sample_weight"


class Engine(str, Enum):
    """Where the passes run: this process, or Dask tasks over a dataset's partitions."""

    local = "local"
    dask = "dask"


# Completion of option values. losscli.cli.completion is imported only when a shell asks,
# so that --help and the other commands never load it (Typer passes ctx and incomplete
# by name). complete_loss and complete_key are public for options declared in cli.py.
def complete_loss(incomplete: str) -> list[tuple[str, str]]:
    """Loss names and aliases for a --loss SPEC, also after a comma."""
    from losscli.cli import completion

    return completion.loss_completions(incomplete)


def _complete_task(incomplete: str) -> list[tuple[str, str]]:
    from losscli.cli import completion

    return completion.task_completions(incomplete)


def _complete_input_format(incomplete: str) -> list[tuple[str, str]]:
    from losscli.cli import completion

    return completion.input_format_completions(incomplete)


def _complete_columns(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    from losscli.cli import completion

    return completion.column_completions(ctx, incomplete, multiple=True)


def _complete_column(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    from losscli.cli import completion

    return completion.column_completions(ctx, incomplete)


def complete_key(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Columns present in every input file on the command line (a join key)."""
    from losscli.cli import completion

    return completion.key_completions(ctx, incomplete)


# Options shared by the commands that read a file (declared once, reused).
LossOpt = Annotated[
    str | None,
    typer.Option(
        "--loss",
        "-l",
        metavar="SPEC",
        autocompletion=complete_loss,
        help="Losses: a comma list with inline params or a linear combination, "
        "e.g. 'mse,huber(delta=0.5)' or '0.7*mse + 0.3*mae'. Default: infer the task.",
    ),
]
TargetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        "-t",
        metavar="COL",
        autocompletion=_complete_columns,
        help="Target column(s): repeatable, comma lists and globs.",
    ),
]
PredOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--pred",
        "-p",
        metavar="COL",
        autocompletion=_complete_columns,
        help="Prediction column(s): repeatable, comma lists and globs ('p_*'); once per input "
        "for losses with several inputs.",
    ),
]
WeightOpt = Annotated[
    str | None,
    typer.Option(
        "--weight",
        metavar="COL",
        autocompletion=_complete_column,
        help="Sample weights: mean = Σ wL / Σ w.",
    ),
]
GroupOpt = Annotated[
    str | None,
    typer.Option(
        "--group",
        metavar="COL",
        autocompletion=_complete_column,
        help="One result row per value of COL; a comma list (--group region,segment) gives "
        "one row per combination of their values.",
    ),
]
VarOpt = Annotated[
    str | None,
    typer.Option(
        "--var",
        metavar="COL",
        autocompletion=_complete_column,
        help="Variance column (gaussian_nll).",
    ),
]
LogitsOpt = Annotated[
    bool | None,
    typer.Option(
        "--from-logits/--no-from-logits",
        help="Predictions are logits (scores), not probabilities; --no-from-logits overrides "
        "a --convention that reads logits.",
        show_default=False,
    ),
]


def _complete_convention(incomplete: str) -> list[tuple[str, str]]:
    from losscli.cli import completion

    return completion.convention_completions(incomplete)


ConventionOpt = Annotated[
    str | None,
    typer.Option(
        "--convention",
        metavar="LIB",
        autocompletion=_complete_convention,
        help="Reproduce a library's definition of every loss: torch, keras, sklearn or optax "
        "(its denominators, clipping, smoothing, defaults, input space); explicit parameters "
        "win. 'losscli explain NAME' lists the differences.",
    ),
]
DropnaOpt = Annotated[
    bool, typer.Option("--dropna", help="Drop rows with empty, NaN or infinite cells (reported).")
]
InputFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--input-format",
        metavar="FMT",
        autocompletion=_complete_input_format,
        help="csv, tsv, parquet, jsonl or arrow (Feather/Arrow IPC) (default: by extension; "
        "a directory's or glob's by its files' extensions).",
    ),
]


DelimiterOpt = Annotated[
    str | None,
    typer.Option(
        "--delimiter",
        metavar="CHAR",
        help="CSV field delimiter, e.g. ';', '|' or tab (default: sniffed from the header "
        "line among , ; tab |).",
        show_default=False,
    ),
]
DecimalOpt = Annotated[
    str | None,
    typer.Option(
        "--decimal",
        metavar="CHAR",
        help="Decimal mark of CSV numbers: '.' (default) or ',' (as in 0,25; with "
        "--delimiter ';' or a sniffed one).",
        show_default=False,
    ),
]
PosLabelOpt = Annotated[
    str | None,
    typer.Option(
        "--pos-label",
        metavar="LABEL",
        help="The positive class of a binary target (as scikit-learn's pos_label): needed "
        "for text labels such as cat/dog with one prediction column; True is positive "
        "by default for True/False.",
        show_default=False,
    ),
]


def _dash_is_stdout(value: str | None) -> str | None:
    # ``-o -`` is stdout, as for the input ``-`` and in other Unix filters.
    return None if value == "-" else value


OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write to FILE (atomically); - is stdout. A FILE named .gz, .bz2 or .zst is "
        "compressed, e.g. -o rows.csv.zst.",
        callback=_dash_is_stdout,
    ),
]
TargetsOpt = Annotated[
    str | None,
    typer.Option(
        "--targets",
        metavar="FILE2",
        help="Read the targets from FILE2, aligned by row order or --key.",
    ),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        metavar="COL",
        autocompletion=complete_key,
        help="Join --targets on COL (in both files); rows are keyed by it.",
    ),
]
CompareKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        metavar="COL",
        autocompletion=complete_key,
        help="Pair the rows of both files by COL instead of by order.",
    ),
]
ReportKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        metavar="COL",
        autocompletion=complete_key,
        help="With CANDIDATE: pair the two files' rows by COL instead of by order; with "
        "--targets FILE2: join on COL.",
    ),
]
KeepOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--keep",
        metavar="COL",
        help="Copy COL into each output row after the row number, as read (repeatable): an id "
        "column, so per-row output needs no join on row numbers.",
        show_default=False,
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="No notes or progress bar on stderr (inferred task, dropped rows)."
    ),
]
TaskOpt = Annotated[
    str | None,
    typer.Option(
        "--task",
        metavar="TASK",
        autocompletion=_complete_task,
        help="A task: regression, robust, counts, quantile, binary, multi-class, multilabel, "
        "imbalanced, segmentation, similarity, nlp, distribution.",
    ),
]
EngineOpt = Annotated[
    Engine,
    typer.Option(
        "--engine",
        help="local: stream the input in this process. dask: one Dask task per partition of a "
        "Parquet dataset (directory, glob or fsspec URL such as s3://bucket/preds/); grad and "
        "--reduction none write -o DIR, one Parquet file per partition. Needs pip install "
        "'losscli[dask]'.",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="With --engine dask: the Dask cluster to run on, e.g. tcp://10.0.0.5:8786 "
        "(default: threads on this machine).",
        show_default=False,
    ),
]
FileArg = Annotated[
    str,
    typer.Argument(
        metavar="FILE",
        help="CSV/TSV (.gz/.bz2/.zst), Parquet, a Parquet dataset (a directory, a glob or an "
        "fsspec URL), JSONL, or - for stdin.",
    ),
]


def _float_opt(flag: str, text: str) -> Any:
    return Annotated[float | None, typer.Option(flag, help=text, show_default=False)]


DeltaOpt = _float_opt("--delta", "Huber threshold δ (> 0).")
BetaOpt = _float_opt("--beta", "smooth_l1 threshold β (> 0); Tversky false-negative weight.")
QuantileOpt = _float_opt("--quantile", "Quantile q in (0, 1).")
GammaOpt = _float_opt("--gamma", "Focal exponent γ (>= 0); circle's scale γ (> 0).")
AlphaOpt = _float_opt("--alpha", "Focal α in [0, 1]; Tversky false-positive weight.")
MarginOpt = _float_opt(
    "--margin", "Margin of hinge, contrastive, triplet, ranking and circle losses."
)
SmoothOpt = _float_opt("--smooth", "Dice/IoU/Tversky smoothing term.")
EpsOpt = _float_opt("--eps", "Probability clipping floor (default 1e-7).")
PosWeightOpt = _float_opt("--pos-weight", "Weight of positive terms in bce.")
LabelSmoothingOpt = _float_opt("--label-smoothing", "Label smoothing in [0, 1).")
PowerOpt = _float_opt("--power", "Tweedie power (<= 0 or >= 1).")
ClassWeightsOpt = Annotated[
    str | None, typer.Option("--class-weights", metavar="W0,W1,...", help="Per-class weights.")
]
IgnoreIndexOpt = Annotated[
    int | None,
    typer.Option("--ignore-index", metavar="LABEL", help="Label whose rows are skipped."),
]
BinsOpt = Annotated[
    int | None,
    typer.Option(
        "--bins", metavar="N", help="Probability bins of ece and the Brier decomposition (15)."
    ),
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--param", metavar="NAME=VALUE", help="Any loss parameter (e.g. for plug-in losses)."
    ),
]


LOSS_PARAM_OPTIONS: dict[str, Any] = {
    "delta": DeltaOpt,
    "beta": BetaOpt,
    "quantile": QuantileOpt,
    "gamma": GammaOpt,
    "alpha": AlphaOpt,
    "margin": MarginOpt,
    "smooth": SmoothOpt,
    "eps": EpsOpt,
    "pos_weight": PosWeightOpt,
    "class_weights": ClassWeightsOpt,
    "label_smoothing": LabelSmoothingOpt,
    "power": PowerOpt,
    "ignore_index": IgnoreIndexOpt,
    "bins": BinsOpt,
    "param": ParamOpt,
}

PARAM_FLAGS = tuple(name for name in LOSS_PARAM_OPTIONS if name != "param")


def shared_params(arguments: dict[str, Any], extra: list[str] | None) -> dict[str, Any]:
    """The parameter flags that were given (from a command's arguments), plus ``--param NAME=VALUE``."""
    params = {k: arguments[k] for k in PARAM_FLAGS if arguments.get(k) is not None}
    for item in extra or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--param {item!r}: expected NAME=VALUE")
        key, value = name.strip().replace("-", "_"), value.strip()
        if key in params and not _same(params[key], value):
            raise UsageError(
                f"loss parameter {key} given twice with different values "
                f"({params[key]} and {value}): --param {item!r}",
                hint=f"give {key} once, as --{key.replace('_', '-')} or --param {key}=VALUE",
            )
        params[key] = value
    return params


def _same(first: Any, second: str) -> bool:
    """Whether two spellings of a parameter value agree (``0.5`` and ``.5``, ``1,2`` twice)."""
    try:
        return [float(v) for v in str(first).split(",")] == [float(v) for v in second.split(",")]
    except ValueError:
        return str(first).strip().lower() == second.lower()


# Per-class rows and bootstrap intervals of ``eval``.
PerClassOpt = Annotated[
    bool,
    typer.Option(
        "--per-class",
        help="Add one row per class (by true class; per label or output column with several "
        "target/prediction pairs; per class for dice/iou/tversky) after each row.",
    ),
]
EvalBootstrapOpt = Annotated[
    int,
    typer.Option(
        "--bootstrap",
        metavar="N",
        help="Percentile bootstrap over rows with N replicates: an interval for every value "
        "(0: none).",
    ),
]
ConfidenceOpt = Annotated[
    float | None,
    typer.Option(
        "--confidence",
        metavar="C",
        help="Interval coverage with --bootstrap (default 0.95).",
        show_default=False,
    ),
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        "--seed",
        metavar="S",
        help="Seed of the bootstrap draws (default 0).",
        show_default=False,
    ),
]


# ---- the input options as one bundle ---------------------------------------------------

#: InputSpec field → the option that sets it and its default, in --help order
# compare's rule (and report BASE CAND's)
SummaryReductionOpt = Annotated[
    GradReduction,
    typer.Option(
        "--reduction",
        help="mean, sum, or median, max, p95 of the per-row losses; "
        "mean_with_sample_weight: Σwᵢ·Lᵢ/Σwᵢ (Keras's; mean under --convention keras "
        "divides by n).",
    ),
]
ToleranceOpt = Annotated[
    float | None,
    typer.Option(
        "--tolerance",
        metavar="ABS",
        help="A worsening up to ABS is not a regression (e.g. 0.01).",
        show_default=False,
    ),
]
RelToleranceOpt = Annotated[
    float | None,
    typer.Option(
        "--rel-tolerance",
        metavar="FRAC",
        help="A worsening up to FRAC × |baseline| is not a regression (e.g. 0.02 = 2%).",
        show_default=False,
    ),
]
RequireSignificantOpt = Annotated[
    bool | None,
    typer.Option(
        "--require-significant/--no-require-significant",
        help="A worsening beyond the tolerance is a regression only when its paired "
        "interval lies wholly on the worse side; else it is within noise and passes "
        "(the default when there is an interval). --no-require-significant: any "
        "worsening beyond the tolerance is a regression.",
        show_default=False,
    ),
]

INPUT_OPTIONS: dict[str, tuple[Any, Any]] = {
    "target": (TargetOpt, None),
    "pred": (PredOpt, None),
    "weight": (WeightOpt, None),
    "group": (GroupOpt, None),
    "var": (VarOpt, None),
    "from_logits": (LogitsOpt, None),
    "convention": (ConventionOpt, None),
    "dropna": (DropnaOpt, False),
    "input_format": (InputFormatOpt, None),
    "delimiter": (DelimiterOpt, None),
    "decimal": (DecimalOpt, None),
    "pos_label": (PosLabelOpt, None),
    "targets": (TargetsOpt, None),
    "key": (KeyOpt, None),
    "keep": (KeepOpt, None),
    "engine": (EngineOpt, Engine.local),
    "scheduler": (SchedulerOpt, None),
}


def _bundle(
    placeholder: str, options: dict[str, tuple[Any, Any]], build: Any, prepare: Any = None
) -> Any:
    """A decorator that replaces a command's ``placeholder`` parameter with ``options``
    (name → (annotation, default)) and calls the command with ``build(**their values)``
    in its place: options declared once, received as one value. ``prepare(given,
    arguments)``, if given, may fill in the values first (the project's defaults)."""
    import functools
    import inspect

    def decorate(command: Any) -> Any:
        from losscli.io.input_options import InputSpec

        # the command's own annotations, evaluated (Typer reads the objects, not strings)
        signature = inspect.signature(command, eval_str=True, locals={"InputSpec": InputSpec})
        added = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a)
            for name, (a, d) in options.items()
        ]
        params = []
        for p in signature.parameters.values():
            if p.name == placeholder:
                params += added
            else:
                params.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY))

        @functools.wraps(command)
        def run(**arguments: Any) -> Any:
            given = {name: arguments.pop(name) for name in options}
            if prepare is not None:
                prepare(given, arguments)
            arguments[placeholder] = build(**given)
            return command(**arguments)

        run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        return run

    return decorate


def with_input_options(*fields: str, project_defaults: bool = False, **overrides: Any) -> Any:
    """Declare a command's input options once: its ``inputs`` parameter becomes the options
    of ``fields`` (all of ``INPUT_OPTIONS`` when none are named; ``overrides`` replaces an
    option's declaration, e.g. compare's --key), and the command receives them as one
    ``InputSpec``, whole, to pass down. With ``project_defaults``, the options (and
    ``--loss``) not on the command line take the values of ``[defaults]`` in losscli.toml.
    """
    names = fields or tuple(INPUT_OPTIONS)
    options = {
        name: (overrides.get(name, annotation), default)
        for name, (annotation, default) in INPUT_OPTIONS.items()
        if name in names
    }
    return _bundle("inputs", options, input_spec, apply_defaults if project_defaults else None)


def apply_defaults(given: dict[str, Any], arguments: dict[str, Any]) -> None:
    """Fill the input options (``given``) and ``--loss`` (in ``arguments``) that the
    command line left out from the project's ``[defaults]``; a note names what was used
    (unless ``--quiet``).

    A default the command line could not turn off, where the command would refuse it, is
    left out: the group under ``--reduction none``, the weight under median, max or p95,
    the key of a --targets join without --targets.
    """
    from losscli.app.defaults import load

    defaults = load()
    used = []
    for name, value in defaults.values.items():
        values = arguments if name == "loss" else given
        if name not in values or values[name] is not None or not _applies(name, given, arguments):
            continue
        values[name] = value
        used.append(_as_flags(name, value))
        if values is given:
            given["defaulted"] = given.get("defaulted", frozenset()) | {name}
    if used and not arguments.get("quiet"):
        from losscli.errors import printable
        from losscli.io import progress

        progress.note(printable(f"note: defaults from {defaults.path}: {' '.join(used)}"))


def _applies(name: str, given: dict[str, Any], arguments: dict[str, Any]) -> bool:
    reduction = getattr(arguments.get("reduction"), "value", None)
    if name == "group":
        return reduction != "none"
    if name == "weight":
        return reduction not in ("median", "max", "p95")
    if name == "key" and "targets" in given:  # eval, grad, report: --key joins --targets
        return given["targets"] is not None or arguments.get("candidate") is not None
    return True


def _as_flags(name: str, value: Any) -> str:
    """A default as the command line would say it: ``--pred yhat``, ``--no-from-logits``."""
    import shlex

    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return flag if value else f"--no-{flag[2:]}"
    values = value if isinstance(value, list) else [value]
    return " ".join(f"{flag} {shlex.quote(v)}" for v in values)


def with_loss_params(*left_out: str) -> Any:
    """Declare a command's loss-parameter flags once (``--delta`` … ``--bins``, and
    ``--param NAME=VALUE``): its ``params`` parameter becomes those options, and the
    command receives the parameters given as one dict (``shared_params``)."""
    options = {
        name: (annotation, None)
        for name, annotation in LOSS_PARAM_OPTIONS.items()
        if name not in left_out
    }
    return _bundle("params", options, lambda param=None, **flags: shared_params(flags, param))


def input_spec(**given: Any) -> Any:
    """The InputSpec of the options given on a command line."""
    from losscli.io.input_options import InputSpec, decimal_value, delimiter_value

    values = {k: v for k, v in given.items() if v is not None}
    for name in ("target", "pred", "keep"):
        if name in values:
            values[name] = tuple(values[name])
    if "engine" in values:
        values["engine"] = values["engine"].value
    values["delimiter"] = delimiter_value(given.get("delimiter"))
    values["decimal"] = decimal_value(given.get("decimal"))
    return InputSpec(**values)
