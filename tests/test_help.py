"""--help tells the truth: every command and option is explained, commands in a useful order."""

from __future__ import annotations

import re

import pytest
import typer

from losscli.cli.commands import app, run

# The order a user needs them in: evaluate, then gate, then choose, then look up.
COMMAND_ORDER = [
    "eval",
    "grad",
    "compare",
    "check",
    "recommend",
    "losses",
    "explain",
    "report",
    "plot",
]

try:  # typer 0.28 ships its own copy of click
    from typer import _click as click
except ImportError:  # older typer runs on click itself
    import click  # type: ignore[no-redef]


def tree() -> tuple[object, object, dict[str, object]]:
    root = typer.main.get_command(app)
    ctx = click.Context(root, info_name="losscli", **(root.context_settings or {}))
    return root, ctx, {name: root.get_command(ctx, name) for name in root.list_commands(ctx)}


def params_of(command: object, ctx: object) -> list[object]:
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    assert params, f"{command.name}: no parameters found (is this the right Click?)"
    assert all(isinstance(p, click.Parameter) for p in params)
    return params


def test_the_tree_is_typers_click() -> None:
    root, ctx, commands = tree()
    assert isinstance(root, click.Command) and hasattr(root, "list_commands")
    assert {"eval", "losses"} <= set(commands)
    assert any(p.name == "loss" for p in params_of(commands["eval"], ctx))


@pytest.mark.parametrize("name", list(tree()[2]))
def test_every_command_has_help_with_an_example(name: str) -> None:
    _, _, commands = tree()
    help_text = commands[name].help or ""
    assert help_text.strip(), f"{name} has no help"
    assert re.search(r"^\s*Example:\s*\S", help_text, re.M), f"{name}: no 'Example:' line"


@pytest.mark.parametrize("name", ["", *tree()[2]], ids=lambda n: n or "losscli")
def test_every_option_and_argument_has_help(name: str) -> None:
    root, ctx, commands = tree()
    command = commands[name] if name else root
    sub_ctx = click.Context(command, info_name=name, parent=ctx) if name else ctx
    for param in params_of(command, sub_ctx):
        if param.name == "help":
            continue
        assert (getattr(param, "help", None) or "").strip(), f"{name or 'losscli'}: {param.name}"


def test_help_lists_commands_in_the_order_users_need_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["--help"]) == 0
    text = capsys.readouterr().out
    section = text.split("Commands:", 1)[1]
    listed = [m.group(1) for m in re.finditer(r"^  (\S+)", section, re.M)]
    present = set(tree()[2])
    assert listed == [name for name in COMMAND_ORDER if name in present] + sorted(
        present - set(COMMAND_ORDER)
    )


def test_help_lists_the_global_and_completion_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--version", "--debug", "--install-completion", "--show-completion", "--help"):
        assert flag in text
