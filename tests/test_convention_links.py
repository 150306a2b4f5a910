"""Every convention record links the line of the library's code that defines its function.

``Convention.defined`` holds (path, line, name) per function the record names, and
``Definition.url`` builds ``https://github.com/OWNER/REPO/blob/REF/PATH#LLINE`` from the one
pinned version per library in ``PINS``. PyTorch's and scikit-learn's lines are checked in
the installed files (when the pinned version is installed); Keras, optax and torchvision are
not installed, so their lines are checked against tests/fixtures/convention_definitions.json,
the def/class lines read at the pinned commits. ``explain`` prints the links.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from losscli.binding import conventions
from losscli.binding.conventions import LIBRARIES, PINS, Convention, Definition
from losscli.cli import explain_output as render
from losscli.cli import output
from losscli.cli.commands import app
from losscli.losses.registry import get_loss

# every record: a loss's own, and those a name selects (l2 under optax: l2_loss)
RECORDS = (*conventions.RECORDS, *getattr(conventions, "ALIAS_RECORDS", {}).values())
FIXTURE = Path(__file__).parent / "fixtures" / "convention_definitions.json"
VERIFIED = json.loads(FIXTURE.read_text(encoding="utf-8"))

# The package (first directory of a linked path) each library's records link into.
PACKAGES = {
    "torch": {"torch", "torchvision"},
    "keras": {"keras"},
    "sklearn": {"sklearn"},
    "optax": {"optax"},
}
# Installed packages whose files are the pinned version's: (distribution, version).
INSTALLED = {"torch": ("torch", "2.13.0"), "sklearn": ("scikit-learn", "1.9.1")}

runner = CliRunner()


def _id(record: Convention) -> str:
    return f"{record.loss}-{record.library}-{record.function}"


def _definitions() -> list[tuple[Convention, Definition]]:
    return [(r, d) for r in RECORDS for d in r.defined]


def _def_id(item: tuple[Convention, Definition]) -> str:
    return f"{_id(item[0])}-{item[1].name}"


@pytest.mark.parametrize("record", RECORDS, ids=_id)
def test_every_record_links_where_the_library_defines_its_function(record: Convention) -> None:
    assert record.defined, (
        f"convention record ({record.loss!r}, {record.library!r}) has no defined=: add "
        "Definition(path, line, name) for the def/class line of "
        f"{record.function} at the pinned version (losscli.binding.conventions.PINS)"
    )
    assert record.url == record.defined[0].url


@pytest.mark.parametrize(("record", "definition"), _definitions(), ids=map(_def_id, _definitions()))
def test_each_link_points_into_the_librarys_pinned_version(
    record: Convention, definition: Definition
) -> None:
    package = definition.path.split("/", 1)[0]
    assert package in PACKAGES[record.library], (_id(record), definition.path)
    pin = PINS[package]
    url = re.escape(f"https://github.com/{pin.repo}/blob/{pin.ref}/{definition.path}")
    assert re.fullmatch(url + r"#L[1-9][0-9]*", definition.url), definition.url
    assert definition.url.endswith(f"#L{definition.line}")
    # The linked name is one the record's function names.
    assert re.search(rf"\b{definition.name}\b", record.function), (definition, record.function)


def test_each_library_links_one_pinned_version() -> None:
    assert PINS["torch"].ref == "v2.13.0"
    assert PINS["sklearn"].ref == "1.9.1"
    for package in ("keras", "optax", "torchvision"):
        assert re.fullmatch("[0-9a-f]{40}", PINS[package].ref), package
    assert set().union(*PACKAGES.values()) == set(PINS)
    assert set(PACKAGES) == set(LIBRARIES)


def _installed_file(package: str, path: str) -> Path:
    distribution, version = INSTALLED[package]
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{distribution} is not installed")
    installed = importlib.metadata.version(distribution)
    if installed.split("+")[0] != version:
        pytest.skip(f"{distribution} {installed} is installed; the links pin {version}")
    spec = importlib.util.find_spec(package)
    root = Path(spec.submodule_search_locations[0]).parent
    return root / path


def _defines(line: str, name: str) -> bool:
    """A ``def``/``class`` line, or a builtin's docstring binding (``name = _add_docstr(``)."""
    name = re.escape(name)
    return re.match(rf"(def|class) {name}\(|{name} = _add_docstr\(", line) is not None


INSTALLED_DEFS = [(r, d) for r, d in _definitions() if d.path.split("/", 1)[0] in INSTALLED]


@pytest.mark.parametrize(("record", "definition"), INSTALLED_DEFS, ids=map(_def_id, INSTALLED_DEFS))
def test_the_linked_line_of_the_installed_file_defines_the_function(
    record: Convention, definition: Definition
) -> None:
    path = _installed_file(definition.path.split("/", 1)[0], definition.path)
    lines = path.read_text(encoding="utf-8").splitlines()
    line = lines[definition.line - 1]
    assert _defines(line, definition.name), (
        f"{_id(record)}: line {definition.line} of {path} is {line!r}, not "
        f"'def {definition.name}(' (the definition is at line "
        f"{next((i for i, x in enumerate(lines, 1) if _defines(x, definition.name)), None)})"
    )


VERIFIED_DEFS = [(r, d) for r, d in _definitions() if d.path.split("/", 1)[0] not in INSTALLED]


def test_the_verified_lines_were_read_at_the_pinned_commits() -> None:
    for package, pin in VERIFIED["pins"].items():
        assert (PINS[package].repo, PINS[package].ref) == (pin["repo"], pin["ref"]), package
    for entry in VERIFIED["definitions"]:
        assert _defines(entry["text"], entry["name"]), entry


@pytest.mark.parametrize(("record", "definition"), VERIFIED_DEFS, ids=map(_def_id, VERIFIED_DEFS))
def test_the_linked_line_is_a_verified_definition(
    record: Convention, definition: Definition
) -> None:
    lines = {(e["path"], e["name"]): e["line"] for e in VERIFIED["definitions"]}
    key = (definition.path, definition.name)
    assert key in lines, (
        f"{_id(record)}: {definition.name} in {definition.path} is not in {FIXTURE.name}; "
        "read its line at the pinned commit and add it there"
    )
    assert definition.line == lines[key], (_id(record), definition, lines[key])


def test_explain_prints_each_librarys_function_difference_and_link() -> None:
    result = runner.invoke(app, ["explain", "kl_div"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    for library, function, url in (
        ("torch", "torch.nn.functional.kl_div", PINS["torch"].ref),
        ("keras", "keras.losses.KLDivergence", PINS["keras"].ref),
        ("optax", "optax.losses.kl_divergence", PINS["optax"].ref),
    ):
        start = lines.index(f"  {library}: {function}")
        block = lines[start + 1 : start + 12]
        assert block[0].startswith("    differs: ")
        record = next(r for r in RECORDS if (r.loss, r.library) == ("kl_div", library))
        # The link stands alone on its line, whole, under the version it was read from.
        assert f"      {record.url}" in block
        assert url in record.url
        assert f"    defined: {record.defined[0].name}, {record.defined[0].pin.label}" in block
    assert "  sklearn: not defined (--convention sklearn is an error)" in lines


def test_explain_links_every_function_a_record_names() -> None:
    result = runner.invoke(app, ["explain", "cross_entropy"])
    assert result.exit_code == 0
    for name in ("CategoricalCrossentropy", "SparseCategoricalCrossentropy", "log_loss"):
        record = next(
            r for r in RECORDS if r.loss == "cross_entropy" and name in [d.name for d in r.defined]
        )
        url = next(d.url for d in record.defined if d.name == name)
        assert f"\n      {url}\n" in result.stdout


def test_explain_on_an_80_column_terminal_keeps_each_link_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, ["explain", "focal"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    urls = [d.url for r in RECORDS if r.loss == "focal" for d in r.defined]
    assert len(urls) == 4
    for url in urls:
        assert f"      {url}" in lines
    # Prose is wrapped to the terminal; only the unbreakable links may be wider.
    assert all(len(line) <= 80 for line in lines if "https://" not in line)


def test_explain_json_and_markdown_carry_the_links() -> None:
    result = runner.invoke(app, ["explain", "bce", "--format", "json"])
    assert result.exit_code == 0
    entries = {e["library"]: e for e in json.loads(result.stdout)["conventions"]}
    for library in LIBRARIES:
        record = next(r for r in RECORDS if (r.loss, r.library) == ("bce", library))
        assert entries[library]["url"] == record.url
        assert [d["url"] for d in entries[library]["definitions"]] == [
            d.url for d in record.defined
        ]
        assert entries[library]["definitions"][0]["line"] == record.defined[0].line
    markdown = runner.invoke(app, ["explain", "bce", "--format", "markdown"]).stdout
    for library in LIBRARIES:
        record = next(r for r in RECORDS if (r.loss, r.library) == ("bce", library))
        assert f"[{record.defined[0].name}]({record.url})" in markdown


def test_explain_json_of_a_library_without_the_loss_has_no_link() -> None:
    entries = {e["library"]: e for e in render.explain_record(get_loss("rmse"))["conventions"]}
    assert entries["torch"]["url"] is None
    assert entries["torch"]["definitions"] == []
