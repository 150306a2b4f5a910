"""``python -m losscli``."""

from losscli.cli.commands import console

console()
