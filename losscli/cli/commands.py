"""The ``losscli`` command line: parse arguments, call the library, hand results to output.

Commands only raise; ``run`` is the one place where exceptions become exit statuses
(``errors.ExitCode``; README "In CI"). numpy, pandas and pyarrow are imported by the code that computes, never at
import time here, so ``--help``, ``--version``, ``losses`` and ``explain`` start fast.
"""

from __future__ import annotations

import math
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

from losscli import __version__
from losscli.cli import check_output, collector, compat, output
from losscli.cli.options import (
    INPUT_OPTIONS,
    CompareKeyOpt,
    ConfidenceOpt,
    EvalBootstrapOpt,
    EvalFormat,
    FileArg,
    GradReduction,
    LossOpt,
    OutputOpt,
    PerClassOpt,
    QuietOpt,
    Reduction,
    RelToleranceOpt,
    ReportKeyOpt,
    RequireSignificantOpt,
    SeedOpt,
    SummaryReductionOpt,
    TaskOpt,
    ToleranceOpt,
    complete_loss,
    with_input_options,
    with_loss_params,
)
from losscli.errors import ExitCode, LossCliError, UsageError, printable
from losscli.losses import registry

if TYPE_CHECKING:
    from losscli.io.input_options import InputSpec

# Options whose repeats add up instead of clashing: ``-l mse -l mae`` is ``--loss mse,mae``.
_JOINED = {"loss": ","}


def _option_text(param: Any) -> str:
    """How the help spells an option: ``--group``, or ``--from-logits/--no-from-logits``."""
    names = [n for n in param.opts if n.startswith("--")] or list(param.opts)
    spelled = names[0]
    if param.secondary_opts:
        spelled += "/" + param.secondary_opts[0]
    return spelled


class _Once:
    """Every command (and the group): a single-valued option given twice is a usage error.

    Click keeps the last value of a repeated option without a word. Here each
    single-valued option of the parser checks whether it was seen already on this
    line; repeatable options (lists) are untouched, ``--loss`` repeats join into one
    comma list (``-l mse -l mae`` is ``--loss mse,mae``), and a flag repeated as
    itself (``-q -q``) loses nothing, while ``--from-logits --no-from-logits`` is refused.
    """

    def make_parser(self, ctx: Any) -> Any:
        parser = super().make_parser(ctx)
        if ctx.resilient_parsing:  # shell completion reads half-typed lines
            return parser
        compat.intercept_single_valued_options(parser, _once({}))
        return parser


class _Command(_Once, TyperCommand):
    """A command whose options are checked by ``_Once``; start-up ends as it is invoked."""

    def invoke(self, ctx: Any) -> Any:
        collector.resume()
        return super().invoke(ctx)


def _once(seen: dict[str, Any]) -> Callable[[compat.Occurrence], Any]:
    """Check each occurrence of an option on one line: a second one joins or is refused."""

    def checked(option: compat.Occurrence) -> Any:
        dest, given, value = option.dest, option.given, option.value
        if dest in seen and dest in _JOINED and option.takes_value:
            value = f"{option.stored[dest]}{_JOINED[dest]}{value}"
        elif dest in seen and option.param.is_flag:
            if seen[dest] != given:  # -q -q loses nothing; --x --no-x would
                name = _option_text(option.param)
                raise UsageError(f"{name}: both spellings given", hint="give one of them")
        elif dest in seen:
            name = _option_text(option.param)
            raise UsageError(
                f"{name} given twice ({seen[dest]!r} and {given!r}): it takes one value",
                hint=f"give {name} once",
            )
        seen[dest] = given
        return value

    return checked


class _StdoutClosed(Exception):
    """The reader of stdout went away, as in ``losscli losses | head -1``."""


class _Group(_Once, TyperGroup):
    """The top-level group; it keeps a closed stdout pipe from becoming exit status 1."""

    def invoke(self, ctx: Any) -> Any:
        # Click answers a broken pipe inside a command with exit 1, which here means
        # "a check failed"; hand it to ``run`` instead, which exits quietly.
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _StdoutClosed from exc


@dataclass
class _RunOptions:
    """Global options that ``run`` needs after the command has failed."""

    debug: bool = False


_run_options = _RunOptions()


class RowFormat(str, Enum):
    """Output formats of per-row output (``grad``): CSV or JSON Lines."""

    csv = "csv"
    json = "json"


class ListFormat(str, Enum):
    """Output formats of ``losses``."""

    table = "table"
    json = "json"
    markdown = "markdown"


class ExplainFormat(str, Enum):
    """Output formats of ``explain``."""

    text = "text"
    json = "json"
    markdown = "markdown"


app = typer.Typer(
    name="losscli",
    cls=_Group,
    help="Evaluate loss functions on model predictions stored in CSV or Parquet files.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        output.write_lines([f"losscli {__version__}"])
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of any error.")
    ] = False,
) -> None:
    """Evaluate loss functions on model predictions stored in CSV or Parquet files."""
    _run_options.debug = debug


def _note(quiet: bool):
    """Notes on stderr unless ``--quiet``; also allows the progress bar unless ``--quiet``."""
    from losscli.io import progress

    progress.enable(quiet)

    def note(message: str) -> None:
        # column names are file content: printable() escapes what a terminal would act on
        if message.startswith("warning: "):  # a likely wrong number: shown even with --quiet
            progress.note(printable(message))
        elif not quiet:
            progress.note(printable(f"note: {message}"))

    return note


@app.command("eval")
@with_input_options(project_defaults=True)
@with_loss_params()
def eval_command(
    file: FileArg,
    loss: LossOpt = None,
    inputs: InputSpec | None = None,  # the input options (with_input_options)
    reduction: Annotated[
        Reduction,
        typer.Option(
            "--reduction",
            help="mean, sum, none (one row per input row), or median, max, p95 of the per-row "
            "losses (no --weight; keeps every row's loss in memory). mean_with_sample_weight: "
            "Σwᵢ·Lᵢ/Σwᵢ, which mean is without --convention; with --convention keras mean is "
            "Keras's default sum_over_batch_size (Σwᵢ·Lᵢ/n) and this is Keras's other mean.",
        ),
    ] = Reduction.mean,
    gradients: Annotated[
        bool, typer.Option("--gradients", help="Add the gradient's mean, max |·| and L2 norm.")
    ] = False,
    fail_above: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-above",
            metavar="[LOSS=]VALUE",
            help="Exit 1 when a loss is above VALUE (repeatable; the whole file's value, "
            "also with --group: check gates each group).",
        ),
    ] = None,
    per_class: PerClassOpt = False,
    replicates: EvalBootstrapOpt = 0,
    confidence: ConfidenceOpt = None,
    seed: SeedOpt = None,
    fail_below: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-below",
            metavar="[METRIC=]VALUE",
            help="Exit 1 when a higher-is-better metric (d2_*, brier_resolution) is below VALUE "
            "(repeatable).",
        ),
    ] = None,
    fmt: Annotated[
        EvalFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format (default: table; with -o, by its extension: .json, .csv, .md, "
            ".xml). --reduction none writes csv or json (JSON Lines, one object per row). JSON "
            'writes an infinite or NaN value as the string "Infinity", "-Infinity" or "NaN". '
            "junit: JUnit XML, one test case per --fail-above/--fail-below gate.",
            show_default=False,
        ),
    ] = None,
    top: Annotated[
        int | None,
        typer.Option(
            "--top",
            metavar="K",
            min=1,
            help="List each loss's K rows with the largest per-row loss (per group too): row, "
            "the --keep columns, the target and prediction columns, the loss. With --format "
            "csv the rows alone, as one table.",
            show_default=False,
        ),
    ] = None,
    output_file: OutputOpt = None,
    quiet: QuietOpt = False,
    params: dict[str, Any] | None = None,  # the loss parameters (with_loss_params)
) -> None:
    """Evaluate losses on a predictions file.

    --reduction none writes one row per input row: row (or the --key column), the --keep
    columns, then each loss's Lᵢ; with --weight, the weight and each loss's wᵢLᵢ (weighted_LOSS) too. As CSV,
    as JSON Lines with --format json (one object per row, keys as the CSV header;
    "Infinity", "-Infinity" or "NaN" for a non-finite value), or as Parquet with -o FILE.parquet.

    Example: losscli eval preds.csv --loss huber --delta 0.5

    Example: losscli eval preds.csv --loss cross_entropy --class-weights 1,4 --convention torch
    """
    _not_an_input(output_file, file, inputs.targets if inputs else None)
    from losscli.app import evaluation as files
    from losscli.cli import eval_output as report

    started = time.perf_counter()
    note = _note(quiet)
    if not replicates and (confidence is not None or seed is not None):
        raise UsageError("--confidence and --seed shape the bootstrap: add --bootstrap N")
    if (fmt is EvalFormat.junit or _summary_format(fmt, output_file) is EvalFormat.junit) and (
        reduction is Reduction.none
        or not (fail_above or fail_below)
        or top
        or per_class
        or gradients
    ):
        raise UsageError(
            "--format junit writes one test case per --fail-above/--fail-below gate; it takes a "
            "gate, and no --reduction none, --top, --per-class or --gradients",
            hint="add --fail-above [LOSS=]VALUE, or write the other rows with --format json",
        )
    if reduction is Reduction.none:
        if gradients or fail_above or fail_below or inputs.group:
            raise UsageError(
                "--reduction none writes per-row losses; it takes no --gradients, --fail-above, "
                "--fail-below or --group"
            )
        if per_class or replicates or top:
            raise UsageError(
                "--reduction none writes per-row losses; it takes no --per-class, --bootstrap "
                "or --top"
            )
        files.rows_of(file, loss, inputs, params, output_file, fmt=fmt and fmt.value, note=note)
        return
    if inputs.keep and not top:
        raise UsageError(
            "--keep copies columns into per-row output and --top rows: add --top K or "
            "--reduction none, or use grad"
        )
    _summary_file(fmt, output_file, "eval")
    fmt = _summary_format(fmt, output_file)
    doc = files.evaluate(
        file,
        loss,
        inputs,
        params,
        reduction=reduction.value,
        gradients=gradients,
        fail_above=fail_above or (),
        fail_below=fail_below or (),
        per_class=per_class,
        bootstrap=replicates,
        confidence=0.95 if confidence is None else confidence,
        seed=0 if seed is None else seed,
        top=top or 0,
        note=note,
    )
    _warn_not_finite(doc)

    def table() -> None:
        cols, rows, checks = report.table_cells(doc)
        output.write_table(cols, rows, text_columns=report.TEXT_COLUMNS)
        for title, worst_cols, worst_rows in report.worst_tables(doc):
            output.write_lines(["", title])
            output.write_table(worst_cols, worst_rows)
        output.write_notes(checks)

    ci = _CiReport("eval", started)
    _deliver(
        doc,
        lambda: ci.junit(doc) if fmt is EvalFormat.junit else report.render(doc, fmt.value),
        output_file,
        table if fmt is EvalFormat.table else None,
        verdict_shown=fmt in (EvalFormat.table, EvalFormat.markdown),
        verdict=lambda: f"check failed: {report.failed_summary(doc)}",
        ci=ci,
    )


@dataclass(frozen=True)
class _CiReport:
    """How a gating command speaks to CI: its name (``ci_output`` reads its gates from the
    document by it) and when it started (the JUnit suite's time)."""

    command: str
    started: float

    def gates(self, doc: dict[str, Any]) -> list[Any]:
        from losscli.cli import ci_output

        return getattr(ci_output, f"{self.command}_gates")(doc)

    def junit(self, doc: dict[str, Any]) -> str:
        from losscli.cli import ci_output

        return ci_output.junit(
            self.command,
            self.gates(doc),
            ci_output.properties(self.command, doc),
            time.perf_counter() - self.started,
        )

    def annotations(self, doc: dict[str, Any]) -> list[str]:
        from losscli.cli import ci_output

        return ci_output.annotations(self.command, self.gates(doc))


def _deliver(
    doc: dict[str, Any],
    text: Callable[[], str],
    output_file: str | None,
    table: Callable[[], None] | None,
    *,
    verdict_shown: bool,
    verdict: Callable[[], str],
    ci: _CiReport,
) -> None:
    """The tail of every command that gates: the document to ``-o`` (written whole, or not
    at all), else a table on a terminal (``table``, for the table format), else the text
    on stdout; then, on a failed gate, the verdict line once (on stderr unless stdout
    shows it: ``verdict_shown``), under GitHub Actions an ``::error`` annotation per failed
    gate (on stderr, which the runner reads as it reads stdout, so that stdout stays the
    document), and exit 1."""
    if output_file is not None:
        from losscli.io.sink import write_text_atomic

        write_text_atomic(output_file, text())
    elif table is not None and output.stdout_is_terminal():
        table()
    else:
        sys.stdout.write(text())
    if not doc["passed"]:
        if output_file is not None or not verdict_shown:
            print(verdict(), file=sys.stderr)
        if os.environ.get("GITHUB_ACTIONS") == "true":
            sys.stdout.flush()
            for line in ci.annotations(doc):
                print(line, file=sys.stderr)
        raise typer.Exit(int(ExitCode.CHECK_FAILED))


def _not_an_input(output_file: str | None, *inputs: str | None) -> None:
    """Refuse -o naming an input file: the output would replace the data it is computed
    from (``grad preds.csv -o preds.csv``)."""
    if output_file is None or output_file == "-" or not os.path.isfile(output_file):
        return
    for path in inputs:
        if path and path != "-" and os.path.isfile(path) and os.path.samefile(path, output_file):
            raise UsageError(
                f"-o {output_file} is the input file {path}: the output would replace the "
                "rows it is computed from",
                hint="write to another file",
            )


# Summary formats by the extension of -o, when --format is not given.
_BY_EXTENSION = {
    ".json": EvalFormat.json,
    ".csv": EvalFormat.csv,
    ".md": EvalFormat.markdown,
    ".markdown": EvalFormat.markdown,
    ".xml": EvalFormat.junit,
}


def _required_loss(loss: str | None, command: str) -> str:
    """``--loss``, which ``command`` needs: given, or from losscli.toml's [defaults]."""
    if loss is None:
        raise UsageError(
            f"{command} needs --loss SPEC",
            hint='give --loss, e.g. --loss mse, or loss = "mse" under [defaults] in losscli.toml',
        )
    return loss


def _summary_format(fmt: EvalFormat | None, output_file: str | None) -> EvalFormat:
    """``--format``, else the one ``-o``'s extension names (.json, .csv, .md, .xml; under a .gz,
    .bz2 or .zst), else table."""
    from losscli.io.sink import plain_suffix

    named = _BY_EXTENSION.get(plain_suffix(output_file)) if output_file else None
    return fmt or named or EvalFormat.table


# extensions of data files a summary (a table, JSON, CSV, Markdown, JUnit) is not
_DATA_EXTENSIONS = (".parquet", ".pq", ".jsonl", ".ndjson", ".arrow", ".feather", ".ipc", ".xlsx")


def _summary_file(
    fmt: Any, output_file: str | None, command: str, takes: tuple[str, ...] = tuple(_BY_EXTENSION)
) -> None:
    """Refuse ``-o`` naming a format the summary cannot be (``s.parquet`` got a text table)
    unless ``--format`` says which: ``takes`` are the extensions ``command`` writes."""
    from losscli.io.sink import plain_suffix

    if fmt is not None or not output_file or output_file == "-":
        return
    suffix = plain_suffix(output_file)
    if suffix in _DATA_EXTENSIONS or (suffix in _BY_EXTENSION and suffix not in takes):
        raise UsageError(
            f"-o {output_file}: {command} writes its summary by -o's extension as "
            f"{', '.join(takes)} or a text table, not {suffix}",
            hint="name the file by the format, or give --format"
            + (" (per-row losses: --reduction none, or grad)" if command == "eval" else ""),
        )


def _warn_not_finite(doc: dict) -> None:
    """One warning line when a value overflowed float64 (numpy's own warnings are silenced)."""
    values = [(r["loss"], r["value"]) for r in doc["results"]]
    bad = [loss for loss, v in values if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        print(
            f"warning: {', '.join(dict.fromkeys(bad))}: a value is infinite or NaN, as the numbers "
            "exceed float64's range (about 1.8e308); rescale the columns for a finite value",
            file=sys.stderr,
        )


@app.command("grad")
@with_input_options(*(name for name in INPUT_OPTIONS if name != "group"), project_defaults=True)
@with_loss_params()
def grad_command(
    file: FileArg,
    loss: Annotated[
        str | None,
        typer.Option(
            "--loss",
            "-l",
            metavar="SPEC",
            autocompletion=complete_loss,
            help="One loss (or a linear combination). Required, unless losscli.toml's "
            "[defaults] gives loss.",
            show_default=False,
        ),
    ] = None,
    inputs: InputSpec | None = None,  # the input options (with_input_options)
    reduction: Annotated[
        GradReduction,
        typer.Option(
            "--reduction",
            help="The J being differentiated: mean, sum, median, max or p95; "
            "mean_with_sample_weight: Σwᵢ·Lᵢ/Σwᵢ (Keras's; mean under --convention keras "
            "divides by n).",
        ),
    ] = GradReduction.mean,
    with_loss: Annotated[bool, typer.Option("--with-loss", help="Add each row's loss Lᵢ.")] = False,
    fmt: Annotated[
        RowFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="csv, or json (JSON Lines, one object per row); default: by -o's extension "
            "(.csv, .jsonl, .parquet), csv on stdout.",
            show_default=False,
        ),
    ] = None,
    output_file: OutputOpt = None,
    quiet: QuietOpt = False,
    params: dict[str, Any] | None = None,  # the loss parameters (with_loss_params)
) -> None:
    """Per-row gradients ∂J/∂ŷ, one column per prediction column.

    Columns: row (or the --key column), the --keep columns, grad_<column>…, and loss with
    --with-loss. As CSV, as JSON Lines with --format json (one object per row), or as
    Parquet with -o FILE.parquet.

    Example: losscli grad preds.csv --loss bce --from-logits -o grads.parquet
    """
    _not_an_input(output_file, file, inputs.targets if inputs else None)
    from losscli.app import evaluation as files

    files.gradients_of(
        file,
        _required_loss(loss, "grad"),
        inputs,
        params,
        output_file,
        reduction=reduction.value,
        with_loss=with_loss,
        fmt=fmt and fmt.value,
        note=_note(quiet),
    )


class ReportFormat(str, Enum):
    """Output formats of ``recommend`` and ``check``."""

    table = "table"
    json = "json"
    markdown = "markdown"


@app.command("compare")
@with_input_options(
    *(name for name in INPUT_OPTIONS if name not in ("targets", "keep")),
    key=CompareKeyOpt,
    project_defaults=True,
)
@with_loss_params()
def compare_command(
    baseline: Annotated[
        str, typer.Argument(metavar="BASELINE", help="Predictions of the reference model.")
    ],
    candidate: Annotated[
        str, typer.Argument(metavar="CANDIDATE", help="Predictions of the new model.")
    ],
    loss: Annotated[
        str | None,
        typer.Option(
            "--loss",
            "-l",
            metavar="SPEC",
            autocompletion=complete_loss,
            help="Losses to compare, e.g. 'mse,huber(delta=0.5)'. Required, unless "
            "losscli.toml's [defaults] gives loss.",
            show_default=False,
        ),
    ] = None,
    inputs: InputSpec | None = None,  # the input options (with_input_options)
    reduction: SummaryReductionOpt = GradReduction.mean,
    tolerance: ToleranceOpt = None,
    rel_tolerance: RelToleranceOpt = None,
    require_significant: RequireSignificantOpt = None,
    replicates: Annotated[
        int,
        typer.Option(
            "--bootstrap",
            metavar="N",
            help="Paired bootstrap replicates for the interval of the difference (0: none).",
        ),
    ] = 1000,
    confidence: Annotated[
        float | None,
        typer.Option(
            "--confidence",
            metavar="C",
            help="Interval coverage (default 0.95).",
            show_default=False,
        ),
    ] = None,
    seed: SeedOpt = None,
    fmt: Annotated[
        EvalFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format (default: table; with -o, by its extension: .json, .csv, .md, "
            '.xml). JSON writes an infinite or NaN value as the string "Infinity", '
            '"-Infinity" or "NaN". junit: JUnit XML, one test case per loss and group.',
            show_default=False,
        ),
    ] = None,
    output_file: OutputOpt = None,
    quiet: QuietOpt = False,
    params: dict[str, Any] | None = None,  # the loss parameters (with_loss_params)
) -> None:
    """Compare a candidate model's predictions with a baseline's; exit 1 on a regression.

    Both files are scored against the same targets (rows paired by order or --key).
    Each loss and group gets the baseline and candidate values, their difference, the
    relative difference and a paired bootstrap interval of the difference. Losses
    are lower-is-better: a rise above the tolerance is a regression; for
    higher-is-better metrics (d2_*) a fall is. By default the rise (or fall) must also be
    significant, its interval wholly on the worse side of 0; one whose interval reaches
    0 is within noise and passes (--no-require-significant: it fails). Any regression
    exits 1.

    Example: losscli compare base.csv new.csv --loss mse,huber --rel-tolerance 0.02
    """
    _not_an_input(output_file, baseline, candidate)
    from losscli.app.compare import compare
    from losscli.cli import compare_output
    from losscli.io import progress

    started = time.perf_counter()
    _summary_file(fmt, output_file, "compare")
    progress.enable(quiet)
    if not replicates and (confidence is not None or seed is not None):
        raise UsageError(
            "--confidence and --seed shape the bootstrap interval, and --bootstrap 0 computes none",
            hint="drop them, or give --bootstrap N",
        )
    doc = compare(
        baseline,
        candidate,
        _required_loss(loss, "compare"),
        inputs,
        params,
        reduction=reduction.value,
        bootstrap_replicates=replicates,
        confidence=0.95 if confidence is None else confidence,
        seed=0 if seed is None else seed,
        tolerance=tolerance,
        rel_tolerance=rel_tolerance,
        require_significant=require_significant,
        note=_note(quiet),
    )
    if replicates == 0 and require_significant is None:
        _note(quiet)(
            "--bootstrap 0 gives no interval, so significance is not required: "
            "any worsening beyond the tolerance is a regression"
        )
    summary = compare_output.summary(doc)
    fmt = _summary_format(fmt, output_file)

    def table() -> None:
        output.write_table(
            compare_output.columns(doc),
            compare_output.rows(doc),
            text_columns=compare_output.TEXT_COLUMNS,
        )
        output.write_notes(["", summary])

    ci = _CiReport("compare", started)
    _deliver(
        doc,
        lambda: ci.junit(doc) if fmt is EvalFormat.junit else compare_output.render(doc, fmt.value),
        output_file,
        table if fmt is EvalFormat.table else None,
        verdict_shown=fmt in (EvalFormat.table, EvalFormat.markdown),
        verdict=lambda: summary,
        ci=ci,
    )


class CheckFormat(str, Enum):
    """Output formats of ``check``: those of ``recommend``, and JUnit XML."""

    table = "table"
    json = "json"
    markdown = "markdown"
    junit = "junit"


@app.command("check")
def check_command(
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            "-c",
            metavar="FILE",
            help="losscli.toml or pyproject.toml (default: ./losscli.toml, then "
            "./pyproject.toml [tool.losscli]).",
        ),
    ] = None,
    fmt: Annotated[
        CheckFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format (default: table; with -o, by its extension: .json, .md, .xml). "
            "junit: JUnit XML, one test case per check row.",
            show_default=False,
        ),
    ] = None,
    output_file: OutputOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Run the model checks declared in losscli.toml; exit 1 if any fails.

    Each [[check]] scores a file against thresholds (fail_above, fail_below) or compares a
    candidate with a baseline (max_regression, max_rel_regression). One summary
    is printed: a table, Markdown for $GITHUB_STEP_SUMMARY, JSON, or JUnit XML for the test
    reports of GitLab, Jenkins, Azure DevOps and GitHub Actions. Under GitHub Actions
    (GITHUB_ACTIONS=true) each failed row is also an ::error annotation on stderr.

    Keys of a file check: name, file, loss, fail_above, fail_below (one of them is
    required), target, pred, weight, group, var, from_logits, convention, dropna,
    input_format, delimiter, decimal, pos_label, params, reduction, per_group. A compare check has baseline, candidate,
    key, max_regression, max_rel_regression, require_significant, bootstrap, confidence
    and seed instead of file, fail_above and fail_below. A worsening beyond the tolerance
    fails a compare check only when significant (its paired interval wholly on the worse
    side; require_significant = false: any such worsening fails). An unknown key, a wrong
    type, an empty value or a file check without a rule is an error (exit 2) naming the
    file, the check ([[check]] #2, counted from 1) and the key.

    Example: losscli check --format markdown >> "$GITHUB_STEP_SUMMARY"
    """
    from losscli.app import checks, defaults
    from losscli.io import progress

    started = time.perf_counter()
    progress.enable(quiet)
    _summary_file(fmt, output_file, "check", (".json", ".md", ".markdown", ".xml"))
    named = _summary_format(fmt, output_file).value  # --format, else -o's extension
    fmt = CheckFormat(named) if named in CheckFormat.__members__ else CheckFormat.table
    found = checks.find_config(config)
    defaults.check_config(found)
    doc = checks.run_checks(found)

    def table() -> None:
        output.write_table(
            check_output.SUMMARY_COLUMNS,
            check_output.summary_rows(doc),
            text_columns=check_output.SUMMARY_TEXT_COLUMNS,
        )
        output.write_notes(["", check_output.summary_line(doc)])

    ci = _CiReport("check", started)
    _deliver(
        doc,
        lambda: ci.junit(doc) if fmt is CheckFormat.junit else check_output.render(doc, fmt.value),
        output_file,
        table if fmt is CheckFormat.table else None,
        verdict_shown=fmt in (CheckFormat.table, CheckFormat.markdown),
        verdict=lambda: f"check failed: {check_output.summary_line(doc)}",
        ci=ci,
    )


@app.command("recommend")
@with_input_options("target", "pred", "input_format", "delimiter", "decimal", "pos_label")
def recommend_command(
    file: Annotated[
        str | None,
        typer.Argument(
            metavar="[FILE]",
            help="A predictions file: infer the task and recommend from its evidence.",
        ),
    ] = None,
    task: TaskOpt = None,
    inputs: InputSpec | None = None,  # the input options (with_input_options)
    evaluate: Annotated[
        bool,
        typer.Option("--evaluate", help="Add each recommended loss's value on FILE (one pass)."),
    ] = False,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ReportFormat.table,
    quiet: QuietOpt = False,
) -> None:
    """Recommend losses for a task, or for the data in FILE.

    With --task: the guideline table's ranked losses with why, activation, key
    parameters, pitfalls and the command to try each. With FILE: the task and the
    evidence inferred from the data (class shares, residual outliers, logits), and
    advice with numbers (a Huber delta, class weights, focal alpha).

    Example: losscli recommend --task imbalanced

    Example: losscli recommend sample_data/regression.csv --evaluate
    """
    from losscli.app.recommend import for_file, for_task
    from losscli.cli import recommend_output

    if (file is None) == (task is None):
        raise UsageError(
            "give either --task TASK or a FILE to recommend for",
            hint="e.g. 'losscli recommend --task imbalanced' or 'losscli recommend preds.csv'",
        )
    if file is None:
        from losscli.io.input_options import InputSpec

        if evaluate or inputs != InputSpec():
            raise UsageError(
                "--target, --pred, --evaluate, --input-format, --delimiter, --decimal and "
                "--pos-label need a FILE"
            )
        doc = for_task(task)
    else:
        from losscli.io import progress

        progress.enable(quiet)
        doc = for_file(file, inputs, evaluate=evaluate)
    if fmt is ReportFormat.json:
        output.write_json(doc)
    elif fmt is ReportFormat.markdown:
        output.write_lines(recommend_output.markdown_lines(doc))
    else:
        output.write_lines(
            output.fit_to_terminal(recommend_output.text_lines(doc), whole=("try:",))
        )


@app.command("losses")
def losses_command(
    task: TaskOpt = None,
    fmt: Annotated[ListFormat, typer.Option("--format", help="Output format.")] = ListFormat.table,
) -> None:
    """List the registered losses, then the metrics (classification, skill scores, calibration).

    One row per loss: name, aliases, tasks, inputs, parameters with their defaults.
    Metrics follow in their own table, with which way is better.

    Example: losscli losses --task imbalanced
    """
    from losscli.cli import explain_output as render

    losses = [registry.get_loss(name) for name in registry.available_losses(task)]
    if fmt is ListFormat.json:
        output.write_json([render.loss_record(loss) for loss in losses])
        return
    markdown = fmt is ListFormat.markdown
    for title, cols, rows in render.loss_sections(losses):
        if title is not None and markdown:
            output.write_lines(["", f"## {title}", ""])
        elif title is not None:
            output.write_notes(["", title])
        output.write_table(cols, rows, markdown=markdown, text_columns=render.TEXT_COLUMNS)
        if title is not None:
            output.write_notes(["", render.METRICS_NOTE])


@app.command("explain")
def explain_command(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="A loss name or alias, e.g. huber, l2, bce.")
    ],
    fmt: Annotated[
        ExplainFormat, typer.Option("--format", help="Output format.")
    ] = ExplainFormat.text,
) -> None:
    """Explain a loss: formula, gradient, pitfalls.

    Shows the inputs, the parameters with defaults and valid ranges, the formula and
    gradient, its properties, when to use it, pitfalls, the output activation, and
    how the reference libraries differ, each with a link to the line of its source
    that defines the function. NAME may be any alias, in any case.

    Example: losscli explain huber --format markdown
    """
    from losscli.cli import explain_output as render

    loss = registry.get_loss(name)
    if fmt is ExplainFormat.json:
        output.write_json(render.explain_record(loss))
    elif fmt is ExplainFormat.markdown:
        output.write_lines(render.explain_markdown(loss))
    else:
        output.write_lines(output.fit_to_terminal(render.explain_lines(loss)))


# report draws its page from one local pass: no --engine dask, no --scheduler
REPORT_INPUT_OPTIONS = tuple(name for name in INPUT_OPTIONS if name not in ("engine", "scheduler"))


@app.command("report")
@with_input_options(*REPORT_INPUT_OPTIONS, key=ReportKeyOpt, project_defaults=True)
@with_loss_params()
def report_command(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="Predictions file (CSV, Parquet, JSONL; - reads stdin); with CANDIDATE, "
            "the baseline's.",
        ),
    ],
    candidate: Annotated[
        str | None,
        typer.Argument(
            metavar="[CANDIDATE]",
            help="A second model's predictions: the page compares it with FILE (as compare).",
            show_default=False,
        ),
    ] = None,
    loss: LossOpt = None,
    inputs: InputSpec | None = None,  # the input options (with_input_options)
    reduction: SummaryReductionOpt = GradReduction.mean,
    tolerance: ToleranceOpt = None,
    rel_tolerance: RelToleranceOpt = None,
    require_significant: RequireSignificantOpt = None,
    replicates: Annotated[
        int | None,
        typer.Option(
            "--bootstrap",
            metavar="N",
            help="Bootstrap replicates for every interval (0: none; default 0 for one file, "
            "1000 for FILE CANDIDATE, as compare).",
            show_default=False,
        ),
    ] = None,
    confidence: ConfidenceOpt = None,
    seed: SeedOpt = None,
    top: Annotated[
        int,
        typer.Option(
            "--top",
            metavar="K",
            min=1,
            help="List each loss's K rows with the largest per-row loss (per group too); "
            "with CANDIDATE, the K rows whose loss rose most.",
        ),
    ] = 10,
    output_file: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the HTML page to FILE (atomically; required); - is stdout.",
            show_default=False,
        ),
    ] = None,
    quiet: QuietOpt = False,
    params: dict[str, Any] | None = None,  # the loss parameters (with_loss_params)
) -> None:
    """Write one self-contained HTML page about a predictions file, or comparing two.

    One file: the eval table with intervals, per-group values worst first, per-class
    values, the distribution of the per-row losses and how concentrated they are,
    residuals or calibration and the confusion matrix, the worst rows (with --keep
    columns) and what recommend says. FILE CANDIDATE: compare's table and verdict, the
    paired differences per loss and group with intervals, and the rows whose loss rose
    most. The page is written whatever the verdict (exit 0); the gate is compare.
    Opens offline: inline styles and SVG charts, no scripts, no fonts, no network.
    Needs matplotlib: pip install 'losscli[report]'.

    Example: losscli report preds.csv --group segment --bootstrap 200 -o report.html

    Example: losscli report base.csv new.csv --loss mse,mae --group segment -o diff.html
    """
    _not_an_input(output_file, file, candidate, inputs.targets if inputs else None)
    if output_file is None:
        raise UsageError(
            "losscli report writes an HTML page: give -o report.html (or -o - for stdout)"
        )
    compared = candidate is not None
    if not compared:
        given = [
            flag
            for flag, value in (
                ("--tolerance", tolerance),
                ("--rel-tolerance", rel_tolerance),
                (
                    "--no-require-significant"
                    if require_significant is False
                    else "--require-significant",
                    require_significant,
                ),
            )
            if value is not None
        ]
        if given:
            raise UsageError(
                f"{given[0]} is compare's rule: it needs a second file (report BASE CAND)"
            )
    if replicates is None:
        replicates = 1000 if compared else 0
    if not replicates and (confidence is not None or seed is not None):
        raise UsageError("--confidence and --seed shape the bootstrap: add --bootstrap N")
    if output_file != "-":
        from losscli.io.sink import check_writable

        check_writable(output_file)
    options = {
        "--loss": loss,
        "--reduction": None if reduction is GradReduction.mean else reduction.value,
        "--key": inputs.key,
        "--tolerance": tolerance,
        "--rel-tolerance": rel_tolerance,
        "--require-significant": require_significant,
        "--bootstrap": replicates or None,
        "--confidence": confidence,
        "--seed": seed,
        "--top": top,
        "--keep": ",".join(inputs.keep) or None,
        "--convention": inputs.convention,
        "--from-logits": inputs.from_logits,
    }
    settings = {
        "bootstrap": replicates,
        "confidence": 0.95 if confidence is None else confidence,
        "seed": 0 if seed is None else seed,
        "top": top,
        "options": options,
        "note": _note(quiet),
    }
    if compared:
        from losscli.app import report_compare

        text, doc = report_compare.build(
            file,
            candidate,
            loss,
            inputs,
            params,
            reduction=reduction.value,
            tolerance=tolerance,
            rel_tolerance=rel_tolerance,
            require_significant=require_significant,
            **settings,
        )
        if not quiet:
            from losscli.app.compare import summary

            _note(quiet)(summary(doc))
    else:
        from losscli.app.report import build

        text = build(file, loss, inputs, params, reduction=reduction.value, **settings)
    if output_file == "-":
        sys.stdout.write(text)
    else:
        from losscli.io.sink import write_text_atomic

        write_text_atomic(output_file, text)


@app.command("plot")
@with_loss_params("smooth", "ignore_index", "bins")
def plot_command(
    loss: Annotated[
        str,
        typer.Option(
            "--loss",
            "-l",
            metavar="SPEC",
            autocompletion=complete_loss,
            help="Losses to overlay: a comma list with inline params, "
            "e.g. 'mse,mae,huber(delta=0.5)' or 'bce,focal(gamma=2)'.",
        ),
    ],
    x_range: Annotated[
        str | None,
        typer.Option(
            "--range",
            metavar="A:B",
            help="The x range, e.g. --range -3:3 or --range 0.01:0.99. Default by axis: "
            "error -3:3, p 0.001:0.999, logit/score -6:6, distance 0:3.",
        ),
    ] = None,
    gradient: Annotated[
        bool,
        typer.Option(
            "--gradient",
            help="Add a second panel with the derivative ∂L/∂x of each curve "
            "(per row, reduction none), e.g. losscli plot --loss huber --gradient.",
        ),
    ] = False,
    from_logits: Annotated[
        bool,
        typer.Option(
            "--from-logits",
            help="Plot classification losses over the logit z instead of p, "
            "e.g. losscli plot --loss bce,hinge --from-logits.",
        ),
    ] = False,
    output_file: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write an image instead (.png or .svg, atomically; needs matplotlib: "
            "pip install 'losscli[plot]'), e.g. -o curves.png.",
        ),
    ] = None,
    width: Annotated[
        int | None,
        typer.Option(
            "--width",
            min=20,
            max=1000,
            metavar="W",
            help="Width in characters (default: the terminal's, 80 when piped), e.g. --width 100.",
        ),
    ] = None,
    height: Annotated[
        int | None,
        typer.Option(
            "--height",
            min=12,
            max=500,
            metavar="H",
            help="Height in lines (default 20, 36 with --gradient, which takes 24 or more), "
            "e.g. --height 30.",
        ),
    ] = None,
    params: dict[str, Any] | None = None,  # the loss parameters (with_loss_params)
) -> None:
    """Draw loss curves L(x), and with --gradient their derivatives, in the terminal.

    Regression losses are drawn over the error e = ŷ − y (y = 0; over ŷ with y = 1 for
    msle, mape, poisson, tweedie), binary losses over p (over the logit z with
    --from-logits; hinge over the score) with one curve for y = 1 and one for y = 0,
    multi-class losses over the true class's p (2 classes), contrastive over the
    distance d. Several losses are overlaid with a legend. --gradient adds a second
    panel below with ∂L/∂x. Without a terminal, or with NO_COLOR set, the output
    has no colour codes and is 80×20. The parameter flags are eval's (overlap
    losses, which have no curve, and so --smooth and --ignore-index, are left out).
    `losscli explain NAME` shows the formulas.

    Example: losscli plot --loss mse,mae,huber --range -3:3 --gradient

    Example: losscli plot --loss bce,focal --gamma 2

    Example: losscli plot --loss 'huber(delta=0.5),smooth_l1' -o curves.png
    """
    from losscli.app import plot

    text = plot.plot(
        loss,
        params,
        from_logits=from_logits,
        x_range=x_range,
        gradient=gradient,
        output=output_file,
        width=width,
        height=height,
        terminal=output.stdout_is_terminal(),
    )
    if text is not None:
        output.write_lines([text])


def _sentence(text: str) -> str:
    # Click capitalises its messages; ours start lower-case after "error:". Keep "NAME" as is.
    if text[:2] == text[:2].upper():
        return text
    return text[:1].lower() + text[1:]


def _usage_error(exc: Any) -> int:
    """A parsing error from click: one ``error:`` line and a pointer to the help."""
    if isinstance(exc, compat.NoArgsIsHelpError):
        # A bare ``losscli``: the help is the useful answer; it is still a usage error.
        print(exc.format_message(), file=sys.stderr)
        return ExitCode.USAGE
    ctx = getattr(exc, "ctx", None)
    hint = f"run '{ctx.command_path} --help' for usage" if ctx is not None else None
    output.print_error(_sentence(exc.format_message()), hint)
    return ExitCode.USAGE


def _user_error(exc: LossCliError) -> int:
    if _run_options.debug:
        traceback.print_exc()
    output.print_error(exc.message, exc.hint)
    return int(exc.exit_code)


def _internal_error(exc: Exception) -> int:
    """A bug: one line naming it, or the whole traceback with ``--debug``."""
    what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if _run_options.debug:
        traceback.print_exc()
        output.print_error(f"internal error: {what}")
    else:
        output.print_error(f"internal error: {what} (rerun with --debug for the traceback)")
    return ExitCode.INTERNAL


def _discard_stdout() -> None:
    from losscli.cli.process_exit import discard

    discard(sys.stdout)


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command line and return its exit status.

    ``argv`` defaults to ``sys.argv[1:]``. Every exception a command raises is
    mapped to an exit status and at most two lines on stderr here, and only here.
    """
    _run_options.debug = False
    args = list(argv) if argv is not None else None
    args = _debug_anywhere(args)
    # numpy's floating-point warnings (overflow, invalid value) would leak as Python
    # warnings with source lines; a non-finite result gets one warning line instead.
    warnings.filterwarnings(
        "ignore",
        message=r"(overflow|invalid value|divide by zero|underflow) encountered",
        category=RuntimeWarning,
    )
    try:
        result = _click_group(args).main(args=args, prog_name="losscli", standalone_mode=False)
        # Short output sits in the buffer until here; a closed pipe shows up now.
        sys.stdout.flush()
    except LossCliError as exc:
        return _user_error(exc)
    except compat.ClickException as exc:
        return _usage_error(exc)
    except (KeyboardInterrupt, typer.Abort):
        return ExitCode.INTERRUPTED
    except (_StdoutClosed, BrokenPipeError):
        _discard_stdout()
        return ExitCode.OK
    except Exception as exc:
        return _internal_error(exc)
    # Without standalone mode click returns the code of ``typer.Exit``, or the command's value.
    return result if isinstance(result, int) else ExitCode.OK


def _debug_anywhere(args: list[str] | None) -> list[str] | None:
    """``--debug`` after the command name works as before it (up to a ``--``)."""
    words = sys.argv[1:] if args is None else args
    end = words.index("--") if "--" in words else len(words)
    flags = [i for i, word in enumerate(words[:end]) if word == "--debug"]
    if flags in ([], [0]):
        return args
    return ["--debug", *(w for i, w in enumerate(words) if w != "--debug" or i >= end)]


def _click_group(args: list[str] | None) -> Any:
    """The Click group of ``app``; when the line names a command, only that one is built."""
    words = sys.argv[1:] if args is None else args
    name = next((w for w in words if not w.startswith("-")), None)
    # every command refuses a repeated single-valued option
    compat.set_command_class(app, TyperCommand, _Command)
    if os.environ.get("_LOSSCLI_COMPLETE"):  # completion may ask about any command
        name = None
    return compat.click_group(app, only=name)


def _click_completion_spelling() -> None:
    # Typer's completion scripts say complete_bash; Click's own spelling is bash_complete.
    # Both work, so scripts written for either drive the same completion.
    value = os.environ.get("_LOSSCLI_COMPLETE", "")
    shell, sep, action = value.partition("_")
    if sep and action == "complete" and shell in ("bash", "zsh", "fish"):
        os.environ["_LOSSCLI_COMPLETE"] = f"complete_{shell}"


def _native_library_defaults() -> None:
    """Settings of the native libraries that must be made before numpy and pyarrow load;
    a user's own setting of either wins."""
    # jemalloc returns freed batch memory to the system sooner than Arrow's default
    # (mimalloc): on 5M CSV rows, 114 MB peak instead of 152 MB, and faster. Linux wheels
    # ship it.
    if sys.platform.startswith("linux"):
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    # numpy's OpenBLAS starts a thread for each core beyond the first, and each spins for
    # about 0.1 s of CPU before it sleeps (and again after each threaded BLAS call), on
    # the cores Arrow's readers parse on: 0.09 CPU-s of a 2,000-row eval on two cores.
    # losscli's few BLAS calls (bootstrap's resample weights, pairwise similarities) run
    # while the readers hold the cores: one thread, no spinning (measured no slower).
    if not any(os.environ.get(v) for v in _BLAS_THREADS):
        os.environ["OPENBLAS_NUM_THREADS"] = "1"


# OpenBLAS takes its thread count from the first of these that is set.
_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the command line and exit with its status (``SystemExit``, as Click does)."""
    _native_library_defaults()
    _click_completion_spelling()
    sys.exit(int(run(argv)))


def console() -> NoReturn:
    """The ``losscli`` console script and ``python -m losscli``: ``main`` for a whole process.

    The process ends without the interpreter's teardown once the output is flushed
    (see ``losscli.cli.process_exit``).
    """
    from losscli.cli.process_exit import end_process

    _native_library_defaults()
    _click_completion_spelling()
    end_process(int(run(None)))
