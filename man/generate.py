"""Write losscli's man pages from the command tree that parses its arguments.

    python man/generate.py [--output-dir DIR]

Walks the Click command built from the Typer app (``typer.main.get_command``) and
writes ``losscli.1`` plus ``losscli-<command>.1`` for every command in the tree, so a
new command gets its page when this is rerun. The pages are committed; a test
regenerates them and fails when they differ. Output is deterministic: the date on
every page is the release date of the version (RELEASE_DATES), never today.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MAN_DIR = ROOT / "man"
PROG = "losscli"

# The date a version was released, printed on its pages. Add a line when the version changes.
RELEASE_DATES = {
    "0.1.0": "2026-11-23",
}

# The statuses of ``losscli.errors.ExitCode``, as the README's "In CI" states them.
EXIT_STATUS = (
    ("0", "Success; every check passed."),
    ("1", "A check failed: a --fail-above threshold, a compare regression, a check rule."),
    (
        "2",
        "Usage or input error: a bad option, an unknown loss or task, unreadable or invalid data.",
    ),
    ("70", "Internal error (a bug); rerun with --debug to see the traceback."),
    ("130", "Interrupted."),
)

ENVIRONMENT = (
    ("NO_COLOR", "When set to a non-empty value, tables and messages are printed without colour."),
    (
        "CI",
        "When set, no progress bar is shown. The bar (bytes or rows read, rate, time left) "
        "appears on stderr only when stderr is an interactive terminal, CI is unset and "
        "--quiet is not given, once reading has taken a second.",
    ),
    (
        "LOSSCLI_PROGRESS_DELAY",
        "Seconds of reading before the progress bar appears (default 1).",
    ),
    (
        "LOSSCLI_FULL_EXIT",
        "When set, the process ends through the interpreter's ordinary shutdown. By "
        "default it ends at once after its output is flushed and atexit handlers have "
        "run, which skips about 30 ms of module teardown.",
    ),
)

FILES = (
    (
        "losscli.toml",
        "The checks that losscli check runs, read from the current directory "
        "(or from the file given with --config); its [defaults] table gives eval, grad, "
        "compare and report the options not on the command line (loss, target, pred, "
        "weight, group, var, key, from_logits, convention, input_format, delimiter, "
        "decimal, pos_label).",
    ),
    (
        "pyproject.toml",
        "The same checks in a [tool.losscli] table, and the defaults in "
        "[tool.losscli.defaults], for projects that keep their settings in pyproject.toml.",
    ),
)

_EXAMPLE = re.compile(r"^\s*Examples?:\s*(.*)$")


# --- roff ----------------------------------------------------------------------------


WIDTH = 80  # mandoc's style check: no input line longer than 80 bytes


def escape(text: str) -> str:
    """Text made safe inside a roff line: backslashes and minus signs escaped.

    Every hyphen of an option name (``--from-logits``, ``-o``) and a hyphen that starts
    a word (``- for stdin``, ``-1``) is a minus sign, ``\\-``; one inside a word
    (``multi-class``) stays a hyphen.
    """
    text = text.replace("\\", "\\e")
    text = _OPTION.sub(lambda m: m.group(0).replace("-", "\\-"), text)
    return _ascii(re.sub(r"(?<![\w\\])-", r"\\-", text))


def _ascii(text: str) -> str:
    # Non-ASCII characters as roff's \[uXXXX]: the page is plain ASCII for every formatter,
    # and mandoc measures line lengths in these escapes.
    return re.sub(r"[^\x00-\x7f]", lambda m: f"\\[u{ord(m.group(0)):04X}]", text)


_OPTION = re.compile(r"(?<![\w\\-])--?[A-Za-z0-9][\w-]*")


def text_lines(roff: str) -> list[str]:
    """Escaped text folded into lines of at most WIDTH bytes, none read as a request."""
    lines: list[str] = []
    for word in roff.split():
        if lines and len(f"{lines[-1]} {word}".encode()) <= WIDTH:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    # A line starting with '.' or "'" would be read as a request; \& before it is invisible.
    return [("\\&" + line) if line[:1] in (".", "'") else line for line in lines]


def roff_literal(text: str) -> str:
    """A command line for an example: every hyphen is a minus sign, so it can be pasted."""
    line = _ascii(text.strip().replace("\\", "\\e").replace("-", "\\-"))
    return ("\\&" + line) if line[:1] in (".", "'") else line


def bold(text: str) -> str:
    return f"\\fB{escape(text)}\\fR"


def italic(text: str) -> str:
    return f"\\fI{escape(text)}\\fR"


class Page:
    """A man(7) page being written, one roff line at a time."""

    def __init__(self, title: str, version: str) -> None:
        self.lines = [
            f'.TH {escape(title.upper())} 1 {release_date(version)} "{PROG} {version}" '
            f'"{PROG} manual"'
        ]

    def section(self, name: str) -> None:
        self.lines.append(f".SH {name}")

    def paragraph(self, text: str) -> None:
        # Right after a heading a paragraph starts by itself (mandoc: "skipping PP").
        if not self.lines[-1].startswith((".SH", ".SS")):
            self.lines.append(".PP")
        self.lines += text_lines(escape(text))

    def raw(self, *lines: str) -> None:
        self.lines.extend(lines)

    def item(self, tag: str, *body: str) -> None:
        """A tagged paragraph: ``tag`` is roff already, ``body`` lines are plain text."""
        self.lines += [".TP", tag]
        for i, text in enumerate(body):
            if i:
                self.lines.append(".br")
            self.lines += text_lines(escape(text))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def release_date(version: str) -> str:
    try:
        return RELEASE_DATES[version]
    except KeyError:
        raise SystemExit(
            f"man/generate.py: no release date for version {version}; "
            "add it to RELEASE_DATES in man/generate.py"
        ) from None


# --- the command tree ----------------------------------------------------------------


def click_module() -> Any:
    """typer 0.28 vendors click as typer._click; older typer runs on click itself."""
    try:
        from typer import _click
    except ImportError:
        import click as _click  # type: ignore[no-redef]
    return _click


@dataclass
class Command:
    """What a page needs from one Click command."""

    path: str  # "losscli eval"
    name: str  # "eval" ("" for the root)
    command: Any
    ctx: Any

    @property
    def page(self) -> str:
        return PROG if not self.name else f"{PROG}-{self.name}"


def command_tree() -> tuple[Command, list[Command]]:
    """The root group and its commands, in the order ``losscli --help`` lists them."""
    import typer

    from losscli.cli.commands import app

    click = click_module()
    root = typer.main.get_command(app)
    root_ctx = click.Context(root, info_name=PROG, **(root.context_settings or {}))
    commands = []
    for name in root.list_commands(root_ctx):
        command = root.get_command(root_ctx, name)
        if command is None or getattr(command, "hidden", False):
            continue
        ctx = click.Context(command, info_name=name, parent=root_ctx)
        commands.append(Command(f"{PROG} {name}", name, command, ctx))
    return Command(PROG, "", root, root_ctx), commands


def visible_params(cmd: Command) -> list[Any]:
    """Arguments first, then options, as ``--help`` shows them (the help option included)."""
    params = [p for p in cmd.command.get_params(cmd.ctx) if not getattr(p, "hidden", False)]
    arguments = [p for p in params if p.param_type_name == "argument"]
    return arguments + [p for p in params if p.param_type_name != "argument"]


def split_help(help_text: str | None) -> tuple[list[str], list[str]]:
    """(description paragraphs, example command lines) of a command's help."""
    paragraphs: list[str] = []
    examples: list[str] = []
    in_examples = False
    for block in re.split(r"\n\s*\n", (help_text or "").strip()):
        kept = []
        for line in block.splitlines():
            match = _EXAMPLE.match(line)
            if match:
                in_examples = True
                if match.group(1).strip():
                    examples.append(match.group(1).strip())
            elif in_examples and line[:1].isspace() and line.strip():
                examples.append(line.strip())  # an indented line under "Examples:"
            else:
                in_examples = False
                if line.strip() and line.strip() != "\b":
                    kept.append(line.strip())
        if kept:
            paragraphs.append(" ".join(kept))
    return paragraphs, examples


def summary(cmd: Command) -> str:
    """The one-line description for NAME: the first sentence, lower-cased, no period."""
    first = split_help(cmd.command.help)[0]
    line = first[0] if first else ""
    line = line.split(". ")[0].rstrip(".")
    if line[1:2] != line[1:2].upper():  # keep acronyms such as "CSV files"
        line = line[:1].lower() + line[1:]
    return line


def metavar(param: Any, ctx: Any) -> str:
    """The value's placeholder: its declared metavar, the choices, or the type's name."""
    if param.param_type_name == "argument":
        return param.metavar or param.name.upper()
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    if param.metavar:
        return param.metavar
    choices = getattr(param.type, "choices", None)
    if choices:
        return "|".join(_plain(c) for c in choices)
    return param.type.name.upper()


def value_type(param: Any) -> str:
    """The kind of value in words ('a number', 'one of mean, sum, none'), '' for text."""
    if getattr(param, "is_flag", False):
        return ""
    choices = getattr(param.type, "choices", None)
    if choices:
        return "one of " + ", ".join(_plain(c) for c in choices)
    # Text says nothing the placeholder does not; other types say what is accepted.
    return {
        "float": "a number",
        "integer": "an integer",
        "boolean": "true or false",
        "text": "",
        "str": "",
    }.get(param.type.name, param.type.name)


def _plain(value: Any) -> str:
    return str(getattr(value, "value", value))


def default_text(param: Any) -> str:
    """The default as a user types it, or '' when there is none worth saying."""
    default = param.default
    if callable(default) or default is None or default is False or default == ():
        return ""
    if isinstance(default, (list, tuple)):
        return ", ".join(_plain(v) for v in default)
    return _plain(default)


def option_tag(param: Any, ctx: Any) -> str:
    """The roff tag line of a parameter: its flags in bold and its value in italics."""
    if param.param_type_name == "argument":
        return italic(metavar(param, ctx))
    flags = sorted(param.opts, key=lambda flag: (flag.startswith("--"), flag))
    flags += list(param.secondary_opts)
    tag = ", ".join(bold(flag) for flag in flags)
    value = metavar(param, ctx)
    return f"{tag} {italic(value)}" if value else tag


def option_body(param: Any) -> list[str]:
    """The help text, then what the value is, its default, and whether it repeats."""
    help_text = " ".join((getattr(param, "help", None) or "").split())
    facts = []
    kind = value_type(param)
    if kind:
        facts.append(f"Value: {kind}.")
    default = default_text(param)
    if default:
        facts.append(f"Default: {default}.")
    if getattr(param, "multiple", False) or param.nargs == -1:
        facts.append("Repeatable.")
    if param.required:
        facts.append("Required.")
    return [help_text, " ".join(facts)] if facts else [help_text]


def synopsis(cmd: Command) -> str:
    parts = [bold(cmd.path)]
    if any(p.param_type_name == "option" for p in visible_params(cmd)):
        parts.append(f"[{italic('OPTIONS')}]")
    for param in visible_params(cmd):
        if param.param_type_name != "argument":
            continue
        value = metavar(param, cmd.ctx)
        if value.startswith("[") and value.endswith("]"):  # Typer's metavar of an optional one
            value = value[1:-1]
        name = italic(value) + ("\\&..." if param.nargs == -1 else "")
        parts.append(name if param.required else f"[{name}]")
    if hasattr(cmd.command, "list_commands"):
        parts.append(f"{italic('COMMAND')} [{italic('ARGS')}]\\&...")
    return " ".join(parts)


# --- the pages -----------------------------------------------------------------------


def common_sections(page: Page, examples: Iterable[str], see_also: list[str]) -> None:
    page.section("EXIT STATUS")
    for code, meaning in EXIT_STATUS:
        page.item(bold(code), meaning)
    page.section("ENVIRONMENT")
    for name, meaning in ENVIRONMENT:
        page.item(bold(name), meaning)
    page.section("FILES")
    for name, meaning in FILES:
        page.item(italic(name), meaning)
    examples = list(examples)
    if examples:
        page.section("EXAMPLES")
        page.raw(".EX", *(roff_literal(line) for line in examples), ".EE")
    page.section("SEE ALSO")
    page.raw(
        *(
            f".BR {escape(name)} (1){',' if i < len(see_also) - 1 else ''}"
            for i, name in enumerate(see_also)
        )
    )


def options_section(page: Page, cmd: Command) -> None:
    page.section("OPTIONS")
    for param in visible_params(cmd):
        page.item(option_tag(param, cmd.ctx), *option_body(param))


def command_page(cmd: Command, commands: list[Command], version: str) -> str:
    page = Page(cmd.page, version)
    page.section("NAME")
    page.raw(*text_lines(f"{escape(cmd.page)} \\- {escape(summary(cmd))}"))
    page.section("SYNOPSIS")
    page.raw(synopsis(cmd))
    page.section("DESCRIPTION")
    paragraphs, examples = split_help(cmd.command.help)
    for text in paragraphs:
        page.paragraph(text)
    options_section(page, cmd)
    see_also = [PROG] + [c.page for c in commands if c is not cmd]
    common_sections(page, examples, see_also)
    return page.text()


def root_page(root: Command, commands: list[Command], version: str) -> str:
    from losscli.cli import explain_output as render
    from losscli.losses import registry

    page = Page(PROG, version)
    page.section("NAME")
    page.raw(*text_lines(f"{PROG} \\- {escape(summary(root))}"))
    page.section("SYNOPSIS")
    page.raw(synopsis(root))
    for cmd in commands:
        page.raw(".br", synopsis(cmd))
    page.section("DESCRIPTION")
    paragraphs, root_examples = split_help(root.command.help)
    for text in paragraphs:
        page.paragraph(text)
    page.paragraph(
        f"Each command has its own page, {PROG}-COMMAND(1), and its own --help. "
        f"{PROG} --install-completion adds completion of commands, options, loss names, "
        "tasks and the column names of the input file to bash, zsh or fish."
    )
    page.section("COMMANDS")
    for cmd in commands:
        page.item(bold(cmd.name), summary_sentence(cmd), f"See {cmd.page}(1).")
    options_section(page, root)
    page.section("LOSSES")
    page.paragraph(
        "The built-in losses (plug-ins registered through the entry-point group "
        f"losscli.losses are listed by {PROG} losses). Names and aliases are "
        "case-insensitive; parameters are given inline, as in huber(delta=0.5), "
        "or as the flags of the same name."
    )
    builtin = [loss for loss in registry.all_losses() if loss.source == PROG]
    for loss in builtin:
        if loss.kind == "loss":
            page.item(bold(loss.name), *loss_body(loss))
    page.section("METRICS")
    page.paragraph(
        "Skill scores (D\u00b2, higher is better) and calibration measures of binary "
        "probabilities, selected with --loss like losses and reported beside them. "
        "--fail-above gates the lower-is-better ones, --fail-below the higher-is-better "
        "ones. "
        + " ".join(
            f"{name} selects {', '.join(members)}." for name, members in registry.BUNDLES.items()
        )
    )
    for loss in builtin:
        if loss.kind != "loss":
            better = f"Better: {render.better_text(loss)}."
            page.item(bold(loss.name), *loss_body(loss), better)
    page.section("TASKS")
    page.paragraph("The tasks that --task accepts, each with the other spellings it understands.")
    for task in registry.TASKS:
        spellings = [s for s, t in registry.TASK_SPELLINGS.items() if t == task]
        page.item(
            bold(task), f"Also: {', '.join(spellings)}." if spellings else "No other spellings."
        )
    examples = root_examples + [
        ex for cmd in commands for ex in split_help(cmd.command.help)[1][:1]
    ]
    common_sections(page, examples, [c.page for c in commands])
    return page.text()


def loss_body(loss) -> list[str]:
    """Summary, aliases, parameters and tasks of a registered loss or metric."""
    from losscli.cli import explain_output as render

    body = [loss.summary]
    if loss.aliases:
        body.append("Aliases: " + ", ".join(loss.aliases) + ".")
    if loss.params:
        params = ", ".join(f"{p.name}={render.param_default(p)}" for p in loss.params)
        body.append(f"Parameters: {params}.")
    body.append("Tasks: " + ", ".join(loss.tasks) + ".")
    return body


def summary_sentence(cmd: Command) -> str:
    first = split_help(cmd.command.help)[0]
    return first[0] if first else ""


def generate(output_dir: Path) -> list[Path]:
    """Write every page into ``output_dir``; returns the paths written."""
    from losscli import __version__

    root, commands = command_tree()
    pages = {f"{PROG}.1": root_page(root, commands, __version__)}
    for cmd in commands:
        pages[f"{cmd.page}.1"] = command_page(cmd, commands, __version__)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in pages.items():
        path = output_dir / name
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    # A page whose command is gone would linger and mislead: remove it.
    for stale in output_dir.glob(f"{PROG}*.1"):
        if stale.name not in pages:
            stale.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=MAN_DIR, help="default: man/")
    args = parser.parse_args(argv)
    # Document the code in this checkout, not some other installed losscli.
    sys.path.insert(0, str(ROOT))
    for path in generate(args.output_dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
