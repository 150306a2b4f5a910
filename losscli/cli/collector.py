"""Python's cyclic garbage collector, paused while the ``losscli`` process starts.

Before its command runs, the process imports Typer, Click and losscli's command line
and builds the command's Click parameters: objects that live as long as the process.
The collector would walk them some forty times while they are made (about 8 ms of a
0.17 s run of ``eval`` on a small file). The console script pauses it (``pause``) until
the command's own code begins (``resume``, called as the command is invoked), which
freezes what start-up made (``gc.freeze``), so that later collections never walk it
again. Using losscli as a library (``import losscli``, ``commands.run``) never pauses
it, and ``resume`` then does nothing.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Stop automatic collection for start-up (when it was on)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """End the pause ``pause`` began: freeze what start-up made, collect again."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
