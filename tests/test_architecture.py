"""The layers stay layered: import-linter checks the contracts in ``.importlinter``.

cli → app → engine → io | binding → losses → kernel, each importing only the layers
below it (lazy imports inside functions count too); ``errors``, ``_lazy`` and
``_version`` import no layer; no two modules of a package import each other in a
cycle. docs/architecture.md describes the layers.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import importlinter  # noqa: F401  (the test extra installs it; never skipped)
import pytest

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    # the package under `root` wins over an installed one (PYTHONPATH is read first)
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
         "lint_imports_command()", "--no-cache", "--no-logo", str(root / ".importlinter")],
        cwd=root, capture_output=True, text=True, env=env,
    )  # fmt: skip


def test_the_tree_keeps_every_import_contract():
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 kept, 0 broken" in proc.stdout


@pytest.fixture
def tree(tmp_path) -> Path:
    copy = tmp_path / "tree"
    shutil.copytree(
        ROOT / "losscli", copy / "losscli", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / ".importlinter", copy / ".importlinter")
    return copy


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # an upward import, even a lazy one inside a function
        ("kernel/numerics.py", "def _up():\n    from losscli.cli import output\n", "Layers"),
        ("engine/passes.py", "def _up():\n    from losscli.app import evaluation\n", "Layers"),
        # a shared module that imports a layer
        ("errors.py", "def _up():\n    from losscli.io import sink\n", "errors, _lazy"),
        # a cycle inside one layer
        (
            "kernel/streaming.py",
            "def _cycle():\n    from losscli.kernel import quantiles\n",
            "cycles",
        ),
    ],
)
def test_a_broken_rule_fails_the_check(tree, module, line, broken):
    path = tree / "losscli" / module
    path.write_text(path.read_text() + "\n\n" + line)
    if "quantiles" in line:  # quantiles must import streaming for the cycle to close
        q = tree / "losscli" / "kernel" / "quantiles.py"
        q.write_text(q.read_text() + "\n\ndef _back():\n    from losscli.kernel import streaming\n")
    proc = lint_imports(tree)
    assert proc.returncode == 1, proc.stdout
    assert "BROKEN" in proc.stdout
    header = {"Layers": "Layers:", "errors, _lazy": "errors, _lazy", "cycles": "No import cycles"}
    assert any(header[broken] in line and "BROKEN" in line for line in proc.stdout.splitlines())


def test_the_architecture_page_names_real_modules_and_every_layer():
    import re

    page = (ROOT / "docs" / "architecture.md").read_text()
    layers = [p.name for p in (ROOT / "losscli").iterdir() if (p / "__init__.py").exists()]
    assert sorted(layers) == sorted(["cli", "app", "engine", "io", "binding", "losses", "kernel"])
    for layer in layers:
        assert f"\n{layer}/" in page or f"{layer}/ " in page, layer
    named = set(re.findall(r"`((?:cli|app|engine|io|binding|losses|kernel)\.\w+)", page))
    assert len(named) >= 10
    for dotted in named:
        path = ROOT / "losscli" / (dotted.replace(".", "/") + ".py")
        assert path.exists(), f"docs/architecture.md names {dotted}, which does not exist"
    for layer in layers:  # every module of a layer is on the page, by its name
        for module in (ROOT / "losscli" / layer).glob("*.py"):
            if module.stem != "__init__":
                assert re.search(rf"\b{module.stem}\b", page), f"{layer}/{module.stem}.py"
