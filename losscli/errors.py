"""The errors users see, each carrying the exit code the CLI returns for it."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit statuses (README "In CI"; EXIT STATUS in losscli(1)). Only a failed check exits 1."""

    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    INTERNAL = 70
    INTERRUPTED = 130


class LossCliError(Exception):
    """Base of every error meant for the user: one message, an optional hint."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __reduce__(self) -> tuple:
        # Errors travel from Dask workers to the client by pickle; the default would call
        # __init__ with the message alone (losing the hint, failing for other signatures).
        return (_restore, (type(self), self.__dict__.copy()))


def _restore(cls: type, state: dict) -> LossCliError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class UsageError(LossCliError):
    """A bad option, unknown loss or task, or a combination that does not fit."""


class InputError(LossCliError):
    """Data that cannot be evaluated: unreadable, missing columns, invalid values."""


class ZeroWeightError(InputError):
    """The sample weights of the rows being averaged sum to 0: their mean is undefined."""

    def __init__(self) -> None:
        super().__init__(
            "the sample weights of these rows sum to 0, so their weighted mean is undefined",
            hint="give some rows a positive weight, or use --reduction sum",
        )


class ParamError(UsageError, ValueError):
    """An invalid loss parameter (or sample weight): names it, its value and its valid range."""

    def __init__(self, param: str, value: object, valid: str, loss: str | None = None) -> None:
        where = f" for {loss}" if loss else ""
        super().__init__(f"invalid {param}={value!r}{where}: must be {valid}")
        self.param = param
        self.value = value
        self.valid = valid
        self.loss = loss


def shown(value: object, limit: int = 60) -> str:
    """Text read from an input, quoted for an error message: non-printable characters
    escaped (no raw bytes reach the terminal), at most ``limit`` characters kept."""
    text = str(value)
    cut = len(text) > limit
    text = text[:limit]
    quoted = repr(text)  # escapes control characters, and non-printable ones as \xNN/\uNNNN
    return quoted[:-1] + "…" + quoted[-1] if cut else quoted


def printable(text: str) -> str:
    """``text`` with any non-printable character escaped (spaces kept): the last guard
    before an error or hint line reaches the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)
