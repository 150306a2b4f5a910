"""losscli: evaluate loss functions on model predictions, with analytic gradients.

The Python API::

    import losscli
    losscli.evaluate([3, 4], [2, 5], "mse")                 # 1.0
    losscli.gradient(y, p, "bce", from_logits=True)         # ∂J/∂z, z's shape
    losscli.evaluate(y, p, "0.7*mse + 0.3*huber", delta=0.5)
    losscli.evaluate(y, z, "cross_entropy", from_logits=True, class_weights=w, convention="torch")
    losscli.evaluate_frame(df, "mse,huber", target="y", pred="yhat")  # eval's table, as pandas
"""

from __future__ import annotations

from typing import Any

from losscli._version import __version__

# Exports load on first use, so the command line's light commands (``--help``,
# ``losses``, ``explain``) do not pay for the file engine's modules.
_EXPORTS = {
    "Accumulator": "losscli.app.arrays",
    "evaluate": "losscli.app.arrays",
    "gradient": "losscli.app.arrays",
    "partial_sums": "losscli.app.arrays",
    "ExitCode": "losscli.errors",
    "InputError": "losscli.errors",
    "LossCliError": "losscli.errors",
    "ParamError": "losscli.errors",
    "UsageError": "losscli.errors",
    "evaluate_file": "losscli.app.evaluation",
    "write_gradients": "losscli.app.evaluation",
    "write_rows": "losscli.app.evaluation",
    "EvalDocument": "losscli.app.result_table",
    "evaluate_frame": "losscli.app.frames",
    "gradient_frame": "losscli.app.frames",
    "rows_frame": "losscli.app.frames",
    "Param": "losscli.losses.params",
    "Explain": "losscli.losses.registry",
    "Loss": "losscli.losses.registry",
    "available_losses": "losscli.losses.registry",
    "get_loss": "losscli.losses.registry",
    "register_loss": "losscli.losses.registry",
    "Batch": "losscli.kernel.streaming",
    "Elementwise": "losscli.kernel.streaming",
    "Kernel": "losscli.kernel.streaming",
    "PartialSums": "losscli.kernel.streaming",
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
    "EvalDocument",
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
    "evaluate_frame",
    "get_loss",
    "gradient",
    "gradient_frame",
    "partial_sums",
    "register_loss",
    "rows_frame",
    "write_gradients",
    "write_rows",
    "__version__",
]
