"""Parse loss specs: ``mse,huber(delta=0.5)`` and ``0.7*mse + 0.3*mae``.

Grammar (a small recursive-descent parser; nothing is ever passed to ``eval``)::

    specs := expr (',' expr)*
    expr  := ['-'] term (('+' | '-') term)*
    term  := NUMBER '*' call | call ['*' NUMBER] | call
    call  := NAME ['(' [NAME '=' value (',' NAME '=' value)*] ')']
    value := NUMBER | WORD | '[' NUMBER (',' NUMBER)* ']'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NoReturn

from losscli.errors import UsageError

_TOKEN = re.compile(
    r"\s*(?:(?P<num>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>[,()+\-*=\[\];]))"
)


_HINT = "e.g. --loss 'mse,huber(delta=0.5)' or --loss '0.7*mse + 0.3*mae'"
# What the parser says it expected, for each kind of token it asks for.
_WANTED = {"num": "a number", "name": "a name", ")": "')'", "=": "'='", ",": "','", "*": "'*'"}


@dataclass
class Term:
    """One loss in a spec, with its coefficient and inline parameters (as text)."""

    name: str
    coef: float = 1.0
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class LossSpec:
    """One comma-separated item: a single loss or a linear combination of losses."""

    text: str
    terms: list[Term]

    @property
    def label(self) -> str:
        """The spec with spaces removed, as results report it (``0.7*mse+0.3*mae``)."""
        return re.sub(r"\s+", "", self.text)

    @property
    def is_composite(self) -> bool:
        return len(self.terms) > 1 or self.terms[0].coef != 1.0


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise UsageError(
                f"cannot parse loss spec {text!r} at {text[pos:].strip()!r}", hint=_HINT
            )
        kind = m.lastgroup or "op"
        tokens.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.open: list[tuple[str, int]] = []  # brackets not closed yet, with their position

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(
        self, kind: str | None = None, value: str | None = None, what: str | None = None
    ) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None or (kind and tok[0] != kind) or (value and tok[1] != value):
            self.fail(what or _WANTED.get(value or kind or "", repr(value)))
        self.i += 1
        return tok

    def fail(self, want: str) -> NoReturn:
        """Stop with what was expected and what was found; an unclosed bracket says so."""
        tok = self.peek()
        if tok is None and self.open:
            bracket, pos = self.open[-1]
            closing = ")" if bracket == "(" else "]"
            problem = (
                f"the {bracket!r} at character {pos + 1} is never closed: add {closing!r}"
                f" at the end"
            )
        elif tok is not None and tok[1] in ")]" and not self.open:
            problem = f"{tok[1]!r} at character {tok[2] + 1} closes nothing"
        else:
            got = "the end" if tok is None else f"{tok[1]!r} at character {tok[2] + 1}"
            problem = f"expected {want}, found {got}"
        raise UsageError(f"cannot parse loss spec {self.text!r}: {problem}", hint=_HINT)

    def at(self, value: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "op" and tok[1] == value

    def specs(self) -> list[LossSpec]:
        out = []
        while True:
            start = self.peek()[2] if self.peek() else len(self.text)
            terms = self.expr()
            end = self.peek()[2] if self.peek() else len(self.text)
            out.append(LossSpec(self.text[start:end].strip(), terms))
            if self.peek() is None:
                return out
            self.take("op", ",", what="',' between losses or an operator (+, -, *)")

    def expr(self) -> list[Term]:
        sign = -1.0 if self.at("-") and self.take() else 1.0
        terms = [self.term(sign)]
        while self.at("+") or self.at("-"):
            sign = 1.0 if self.take()[1] == "+" else -1.0
            terms.append(self.term(sign))
        return terms

    def term(self, sign: float) -> Term:
        tok = self.peek()
        if tok is not None and tok[0] == "num":
            coef = float(self.take()[1])
            self.take("op", "*")
            term = self.call()
            term.coef = sign * coef
            return term
        term = self.call()
        if self.at("*"):
            self.take()
            term.coef = float(self.take("num")[1])
        term.coef *= sign
        return term

    def call(self) -> Term:
        name = self.take("name", what="a loss name")[1]
        params: dict[str, str] = {}
        if self.at("("):
            self.open.append(("(", self.take()[2]))
            while not self.at(")"):
                key = self.take("name", what=f"a parameter name in {name}(...)")[1]
                self.take("op", "=", what=f"'=' after {key} (parameters are NAME=VALUE)")
                if key in params:
                    raise UsageError(
                        f"loss spec {self.text!r}: {name} gets {key} twice "
                        f"({key}={params[key]} and {key}={self.value()})",
                        hint=f"give {key} once, e.g. {name}({key}={params[key]})",
                    )
                params[key] = self.value()
                if not self.at(")"):
                    self.take("op", ",", what=f"',' or ')' after {key}={params[key]}")
            self.take("op", ")")
            self.open.pop()
        return Term(name, 1.0, params)

    def value(self) -> str:
        if self.at("["):
            self.open.append(("[", self.take()[2]))
            parts = []
            while not self.at("]"):
                sign = "-" if self.at("-") and self.take() else ""
                parts.append(sign + self.take("num", what="a number in [...]")[1])
                if not self.at("]"):
                    self.take("op", ",", what="',' or ']' in a [...] list")
            self.take()
            self.open.pop()
            return ",".join(parts)
        sign = "-" if self.at("-") and self.take() else ""
        tok = self.peek()
        if tok is not None and tok[0] in ("num", "name"):
            return sign + self.take()[1]
        return self.take("num", what="a value (a number, a word or [numbers])")[1]


_JOINED = re.compile(r"(?<![A-Za-z0-9_.])[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)+")


def joined_by_minus(text: str) -> list[list[str]]:
    """The names written ``a-b`` (or ``a-b-c``) with no space around the minus, each run
    as its names: ``binary-cross-entropy`` parses as three names subtracted, which is
    seldom what was meant when ``binary_cross_entropy`` is a loss."""
    return [m.group().split("-") for m in _JOINED.finditer(text)]


def parse_specs(text: str) -> list[LossSpec]:
    """Split ``--loss`` text into LossSpecs (comma list of single or composite losses)."""
    if not text or not text.strip():
        raise UsageError("empty loss spec", hint="e.g. --loss mse or --loss 'mse,mae'")
    return _Parser(text).specs()
