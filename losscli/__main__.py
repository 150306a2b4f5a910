"""``python -m losscli``."""

from losscli.cli import console

console()
