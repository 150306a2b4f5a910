"""A module proxy that imports the real module on first attribute access.

The registry (names, parameters, explain text) must load without numpy so that
``losscli --help``, ``losses`` and ``explain`` start fast; the loss kernels use
numpy only inside their methods, through this proxy.
"""

from __future__ import annotations

import importlib
import types
from typing import Any


class LazyModule(types.ModuleType):
    def __init__(self, name: str) -> None:
        super().__init__(name)

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self.__name__)
        # Copy the real namespace in, so later lookups never come back here.
        self.__dict__.update(module.__dict__)
        return getattr(module, attr)


np = LazyModule("numpy")
