"""``python -m losscli``."""

from losscli.cli.entry import console

console()
