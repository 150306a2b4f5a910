"""Every use of a private part of Typer, Click or CPython, in one place.

losscli relies on a few things its dependencies do not promise: a private module of
Typer, Click's parser internals, a mutable list on the Typer app, and CPython's
``atexit._run_exitfuncs``. Each is wrapped here, with what it relies on and why, so
that an upgrade breaks this module alone; ``tests/test_compat.py`` checks each of
them against the installed versions and names the versions this was written for.
Nothing else in losscli touches these private names.

Written against Typer 0.28.0 (which carries its own copy of Click as ``typer._click``),
Click 8.5.1 and CPython 3.11.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from typer.main import get_command

# Typer 0.28 ships its own copy of Click as the private ``typer._click`` and raises that
# copy's exceptions; older Typer runs on Click itself. Catching the wrong ClickException
# would turn every usage error into an internal error.
try:
    from typer._click import exceptions as _click_exceptions
except ImportError:  # older typer runs on click itself
    from click import exceptions as _click_exceptions  # type: ignore[no-redef]

ClickException = _click_exceptions.ClickException
# Click 8.2+ raises this for a bare ``losscli``; older versions print the help themselves.
NoArgsIsHelpError: Any = getattr(_click_exceptions, "NoArgsIsHelpError", ())


def click_group(app: Any, only: str | None) -> Any:
    """The Click group of the Typer ``app``, built with the command ``only`` alone.

    Typer turns every command's signature into Click parameters when the group is
    built (about 60 ms for all of losscli's); a command line runs one command, so the
    others are left out. Relies on ``app.registered_commands``, the list of Typer's
    ``CommandInfo`` (each with ``.name``) that ``typer.main.get_command`` reads: it is
    replaced for the build and put back at once. With ``only=None``, or a name no
    command has, the whole group is built.
    """
    registered = app.registered_commands
    chosen = [info for info in registered if info.name == only]
    if not chosen:
        return get_command(app)
    app.registered_commands = chosen
    try:
        return get_command(app)
    finally:
        app.registered_commands = registered


def set_command_class(app: Any, default: type, cls: type) -> None:
    """Build every command of ``app`` registered with ``default`` (or none) as ``cls``.

    Relies on ``CommandInfo.cls``, the Click command class Typer instantiates.
    """
    for info in app.registered_commands:
        if info.cls in (None, default):
            info.cls = cls


@dataclass(frozen=True)
class Occurrence:
    """One single-valued option as Click's parser is about to store it."""

    param: Any  # the click.Option
    dest: str  # its parameter name, the key of ``stored``
    given: Any  # what this occurrence says: the value, or a flag spelling's constant
    value: Any  # what Click will store
    takes_value: bool  # False for a flag (``--x``/``--no-x``), which stores a constant
    stored: dict[str, Any]  # what the line stored so far, by parameter name


def intercept_single_valued_options(parser: Any, intercept: Callable[[Occurrence], Any]) -> None:
    """Call ``intercept`` for each single-valued option as ``parser`` meets it; store its answer.

    Click keeps the last of a repeated option without a word and offers no hook to see
    repeats. This relies on the private parser of Click 8 (``Command.make_parser``'s
    result): its ``_long_opt`` and ``_short_opt`` dicts of options, each with
    ``action`` (``"store"``, ``"store_const"``, ``"append"``, …), ``dest``, ``const``,
    ``obj`` (the ``click.Option``) and ``process(value, state)``, where ``state.opts``
    holds the values stored so far. ``intercept`` may raise, or return the value to store.
    """
    for option in _parser_options(parser):
        if option.action in ("store", "store_const"):
            option.process = _intercepted(option, option.process, intercept)


def _parser_options(parser: Any) -> Iterator[Any]:
    options = [*parser._long_opt.values(), *parser._short_opt.values()]
    yield from {id(o): o for o in options}.values()


def _intercepted(option: Any, process: Any, intercept: Callable[[Occurrence], Any]) -> Any:
    takes_value = option.action == "store"

    def checked(value: Any, state: Any) -> None:
        given = value if takes_value else option.const
        seen = Occurrence(option.obj, option.dest, given, value, takes_value, state.opts)
        process(intercept(seen), state)

    return checked


def run_exit_handlers() -> bool:
    """Run the ``atexit`` handlers now, as the interpreter would at exit; False if it can't.

    Relies on CPython's private ``atexit._run_exitfuncs``, which runs every registered
    handler (last registered first) and unregisters them. Other interpreters may lack it:
    then nothing runs and the caller exits the ordinary way.
    """
    run = getattr(atexit, "_run_exitfuncs", None)
    if run is None:
        return False
    run()
    return True


def end_at_once(code: int) -> None:
    """End the process with ``code`` now, skipping the interpreter's teardown.

    ``os._exit`` runs no ``atexit`` handler, flushes no stream and joins no thread:
    call ``run_exit_handlers`` and flush first.
    """
    os._exit(code)
