"""How the ``losscli`` process ends once its command has run.

An interpreter that has loaded numpy and pyarrow spends about 30 ms tearing them down
at exit (collecting every module's objects, then Arrow's thread pools and allocator);
on a 0.3 s evaluation of a Parquet file that is a tenth of the run. All output is
written by then, so the console script flushes its streams, runs the ``atexit``
handlers (coverage and logging rely on them) and ends the process at once. Whenever
anything might still need the interpreter's own shutdown (a live worker thread, a
Dask client or cluster), it exits the ordinary way.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import NoReturn

from losscli.cli import compat

# Modules whose objects hold resources that only an orderly shutdown releases.
_NEEDS_SHUTDOWN = ("distributed",)


def end_process(code: int) -> NoReturn:
    """Exit with ``code``: flush, run ``atexit`` handlers, skip the interpreter teardown."""
    _flush_streams()
    if not _teardown_can_be_skipped():
        sys.exit(code)
    if not compat.run_exit_handlers():  # not CPython: let the interpreter do it
        sys.exit(code)
    _flush_streams()
    compat.end_at_once(code)
    sys.exit(code)  # not reached


def _teardown_can_be_skipped() -> bool:
    if os.environ.get("LOSSCLI_FULL_EXIT"):
        return False
    if any(name in sys.modules for name in _NEEDS_SHUTDOWN):
        return False
    main = threading.main_thread()
    return not any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate())


def _flush_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BrokenPipeError:
            discard(stream)
        except (OSError, ValueError):  # closed or not a real file
            pass


def discard(stream: object) -> None:
    """Point ``stream``'s descriptor at devnull, so that no later flush raises again."""
    # The reader went away (``losscli … | head``); the Python docs advise this for SIGPIPE.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError):
        pass
