"""The ``losscli`` console script and ``python -m losscli``: one whole process.

The collector is paused before anything else is imported (``losscli.cli.collector``);
``commands.console`` runs the command line and ends the process.
"""

from __future__ import annotations

from typing import NoReturn

from losscli.cli import collector


def console() -> NoReturn:
    """Run the command line as a whole process (see ``commands.console``)."""
    collector.pause()
    from losscli.cli.commands import console as whole_process

    whole_process()
