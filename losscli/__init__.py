"""losscli: evaluate loss functions on model predictions, with analytic gradients.

The Python API::

    import losscli
    losscli.evaluate([3, 4], [2, 5], "mse")                 # 1.0
    losscli.gradient(y, p, "bce", from_logits=True)         # ∂J/∂z, z's shape
    losscli.evaluate(y, p, "0.7*mse + 0.3*huber", delta=0.5)
    losscli.evaluate(y, z, "cross_entropy", from_logits=True, class_weights=w, convention="torch")
"""

from losscli._version import __version__
from losscli.api import Accumulator, evaluate, gradient, partial_sums
from losscli.errors import ExitCode, InputError, LossCliError, ParamError, UsageError
from losscli.files import evaluate_file, write_gradients, write_rows
from losscli.params import Param
from losscli.registry import Explain, Loss, available_losses, get_loss, register_loss
from losscli.streaming import Batch, Elementwise, Kernel, PartialSums

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
