"""README examples are real: the opening block, every console example and sample command."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("FORCE_COLOR", None)
    return env


def test_readme_opens_with_the_two_newcomer_commands():
    block = re.search(r"\A# losscli\n\n```bash\n(.*?)\n```", README, re.S)
    assert block, "README must open with one ```bash block"
    lines = block.group(1).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("pip install . && losscli eval sample_data/")
    assert lines[1].startswith("pip install '.[test]' && pytest")


def console_examples() -> list[tuple[str, list[str], int]]:
    """(command, shown output lines, exit status) for every `$ losscli …` line in console
    blocks; a following `$ echo $?` shows the status (0 otherwise)."""
    out = []
    for block in re.findall(r"```console\n(.*?)```", README, re.S):
        current = None
        for line in block.splitlines():
            if line == "$ echo $?":
                current[2].append(None)
            elif line.startswith("$ "):
                current = (line[2:], [], [])
                out.append(current)
            elif current is not None and current[2] == [None]:
                current[2][0] = int(line)
            elif current is not None and line.strip() and line.strip() != "...":
                current[1].append(line)
    return [
        (cmd, shown, status[0] if status else 0)
        for cmd, shown, status in out
        if cmd.startswith("losscli")
    ]


@pytest.mark.parametrize(
    ("command", "shown", "status"),
    console_examples(),
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_console_example_output_is_what_the_command_prints(command, shown, status):
    if "| jq" in command and shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    if "--engine dask" in command and importlib.util.find_spec("dask") is None:
        pytest.skip("needs pip install 'losscli[dask]'")
    proc = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, env=_env(), timeout=120
    )
    assert proc.returncode == status, proc.stderr
    printed = (proc.stdout + proc.stderr).splitlines()
    for line in shown:
        assert line in printed, (
            f"README shows {line!r}, the command printed:\n{proc.stdout}{proc.stderr}"
        )


SAMPLE_COMMANDS = re.findall(r"\| `(losscli eval sample_data/[^`]+)` \|", README)


def test_readme_lists_a_command_for_every_sample_task():
    assert len(SAMPLE_COMMANDS) >= 15


@pytest.mark.parametrize("command", SAMPLE_COMMANDS)
def test_sample_command_runs(command):
    import shlex

    from losscli.cli.commands import run

    assert run(shlex.split(command)[1:] + ["-q"]) == 0


def ci_scripts() -> list[str]:
    """The shell lines of each CI snippet in the README (a YAML step or job, plain shell)."""
    scripts = []
    for block in re.findall(r"```(?:yaml|bash)\n(.*?)```", README, re.S):
        lines = []
        for line in block.splitlines():
            text = line.strip().removeprefix("- ").strip()
            if text.startswith(("losscli ", "cat losscli")):
                lines.append(text)
        if lines and not any(line.startswith("pip install .") for line in block.splitlines()):
            scripts.append("\n".join(lines))
    return scripts


def test_readme_ci_snippets_exist():
    text = "\n".join(ci_scripts())
    assert "losscli check --format markdown" in text and "GITHUB_STEP_SUMMARY" in text
    assert re.search(r"--fail-above \S+ \|\| exit 1", text)


@pytest.mark.parametrize("script", ci_scripts())
def test_readme_ci_snippet_runs_against_sample_data(script, tmp_path):
    """Each CI snippet runs from a copy of the repository's data and config, as a job would."""
    for name in ("sample_data", "losscli.toml"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name)
        else:
            shutil.copy(src, tmp_path / name)
    summary = tmp_path / "step_summary.md"
    env = {**_env(), "GITHUB_STEP_SUMMARY": str(summary)}
    proc = subprocess.run(
        ["bash", "-c", f"set -e\n{script}\n"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, (script, proc.stdout, proc.stderr)
    if "losscli check --format markdown -o" in script:
        assert (tmp_path / "losscli-summary.md").read_text().startswith("### ✅ losscli check")
    if "GITHUB_STEP_SUMMARY" in script:
        assert summary.read_text().startswith("### ✅ losscli check")
