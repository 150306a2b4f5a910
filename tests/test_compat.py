"""What ``losscli.cli.compat`` relies on is still there, and still behaves.

Each test checks one private part of Typer, Click or CPython that ``compat`` uses.
When one fails after an upgrade, the message names what went missing and the versions
the module was written against; fix ``compat`` (or pin the dependency) there.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import subprocess
import sys
import textwrap

import pytest
import typer

from losscli.cli import compat
from losscli.cli.commands import app

WRITTEN_FOR = "Typer 0.28.0 (with typer._click), Click 8.5.1, CPython 3.11"


def installed() -> str:
    typer_version = importlib.metadata.version("typer")
    return f"installed: Typer {typer_version}, Python {sys.version.split()[0]}"


def broke(what: str) -> str:
    return f"losscli.cli.compat relies on {what}; written for {WRITTEN_FOR}, {installed()}"


def test_click_exceptions_are_the_ones_typer_raises() -> None:
    assert issubclass(compat.ClickException, Exception), broke("click's ClickException")
    bare = typer.Typer(no_args_is_help=True)

    @bare.command()
    def one() -> None:
        """One."""

    @bare.command()
    def two() -> None:
        """Two."""

    group = typer.main.get_command(bare)
    with pytest.raises(compat.ClickException):
        group.main(args=["three"], prog_name="x", standalone_mode=False)
    assert compat.NoArgsIsHelpError, broke("click's NoArgsIsHelpError (Click 8.2+)")
    with pytest.raises(compat.NoArgsIsHelpError):
        group.main(args=[], prog_name="x", standalone_mode=False)


def test_the_app_lists_its_commands_and_get_command_reads_the_list() -> None:
    registered = app.registered_commands
    assert isinstance(registered, list), broke("Typer.registered_commands being a list")
    assert all(hasattr(info, "name") and hasattr(info, "cls") for info in registered), broke(
        "CommandInfo.name and CommandInfo.cls"
    )
    group = compat.click_group(app, only="losses")
    assert sorted(group.commands) == ["losses"], broke("get_command reading registered_commands")
    assert app.registered_commands is registered
    assert len(compat.click_group(app, only=None).commands) == len(registered)


def test_the_click_parser_exposes_its_options_and_their_process_hook() -> None:
    command = compat.click_group(app, only="explain").commands["explain"]
    ctx = command.make_context("explain", ["mse"], resilient_parsing=True)
    parser = command.make_parser(ctx)
    assert isinstance(parser._long_opt, dict), broke("the Click parser's _long_opt")
    assert isinstance(parser._short_opt, dict), broke("the Click parser's _short_opt")
    option = parser._long_opt["--format"]
    for name in ("action", "dest", "const", "obj", "process"):
        assert hasattr(option, name), broke(f"the Click parser option's .{name}")
    assert list(inspect.signature(option.process).parameters) == ["value", "state"], broke(
        "the Click parser option's process(value, state)"
    )


def test_intercepting_sees_every_occurrence_and_stores_its_answer() -> None:
    command = compat.click_group(app, only="explain").commands["explain"]
    ctx = command.make_context("explain", ["mse"], resilient_parsing=True)
    parser = command.make_parser(ctx)
    seen: list[tuple[str, object, bool, dict]] = []

    def intercept(occurrence: compat.Occurrence) -> str:
        o = occurrence
        seen.append((o.dest, o.given, o.takes_value, dict(o.stored)))
        return "json"

    compat.intercept_single_valued_options(parser, intercept)
    opts, _, _ = parser.parse_args(["--format", "text", "--format", "markdown", "mse"])
    assert [s[:3] for s in seen] == [("fmt", "text", True), ("fmt", "markdown", True)], broke(
        "the Click parser calling option.process for each occurrence"
    )
    assert seen[1][3] == {"fmt": "json"}, broke("state.opts holding the stored values")
    assert opts["fmt"] == "json"


def test_atexit_run_exitfuncs_runs_the_handlers_and_os_exit_ends_at_once() -> None:
    script = textwrap.dedent(
        """
        import atexit, sys
        from losscli.cli import compat
        atexit.register(print, "second")
        atexit.register(print, "first")
        assert compat.run_exit_handlers()
        sys.stdout.flush()
        atexit.register(print, "never")
        compat.end_at_once(5)
        print("not reached")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (5, "first\nsecond\n", ""), broke(
        "atexit._run_exitfuncs (runs handlers, last first) and os._exit"
    )
