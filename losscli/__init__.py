"""losscli: evaluate loss functions on model predictions, with analytic gradients.

The Python API::

    import losscli
    losscli.evaluate([3, 4], [2, 5], "mse")                 # 1.0
    losscli.gradient(y, p, "bce", from_logits=True)         # ∂J/∂z, z's shape
    losscli.evaluate(y, p, "0.7*mse + 0.3*huber", delta=0.5)
    losscli.evaluate(y, z, "cross_entropy", from_logits=True, class_weights=w, convention="torch")
"""

from __future__ import annotations

from typing import Any

from losscli._version import __version__

# Exports load on first use, so the command line's light commands (``--help``,
# ``losses``, ``explain``) do not pay for the file engine's modules.
_EXPORTS = {
    "Accumulator": "losscli.api",
    "evaluate": "losscli.api",
    "gradient": "losscli.api",
    "partial_sums": "losscli.api",
    "ExitCode": "losscli.errors",
    "InputError": "losscli.errors",
    "LossCliError": "losscli.errors",
    "ParamError": "losscli.errors",
    "UsageError": "losscli.errors",
    "evaluate_file": "losscli.files",
    "write_gradients": "losscli.files",
    "write_rows": "losscli.files",
    "Param": "losscli.params",
    "Explain": "losscli.registry",
    "Loss": "losscli.registry",
    "available_losses": "losscli.registry",
    "get_loss": "losscli.registry",
    "register_loss": "losscli.registry",
    "Batch": "losscli.streaming",
    "Elementwise": "losscli.streaming",
    "Kernel": "losscli.streaming",
    "PartialSums": "losscli.streaming",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'losscli' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "Accumulator",
    "Batch",
    "Elementwise",
    "ExitCode",
    "Explain",
    "InputError",
    "Kernel",
    "Loss",
    "LossCliError",
    "Param",
    "ParamError",
    "PartialSums",
    "UsageError",
    "available_losses",
    "evaluate",
    "evaluate_file",
    "get_loss",
    "gradient",
    "partial_sums",
    "register_loss",
    "write_gradients",
    "write_rows",
    "__version__",
]
