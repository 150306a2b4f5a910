"""README examples are real: the opening block, every console example and sample command."""

from __future__ import annotations

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


def console_examples() -> list[tuple[str, list[str]]]:
    """(command, shown output lines) for every `$ losscli …` line in console blocks."""
    out = []
    for block in re.findall(r"```console\n(.*?)```", README, re.S):
        current = None
        for line in block.splitlines():
            if line.startswith("$ "):
                current = (line[2:], [])
                out.append(current)
            elif current is not None and line.strip() and line.strip() != "...":
                current[1].append(line)
    return [(cmd, shown) for cmd, shown in out if cmd.startswith("losscli")]


@pytest.mark.parametrize(
    ("command", "shown"), console_examples(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_console_example_output_is_what_the_command_prints(command, shown):
    if "| jq" in command and shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    proc = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, env=_env(), timeout=120
    )
    expected_code = 1 if "--fail-above huber=0.2" in command else 0
    assert proc.returncode == expected_code, proc.stderr
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

    from losscli.cli import run

    assert run(shlex.split(command)[1:] + ["-q"]) == 0
