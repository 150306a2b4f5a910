"""The built-in loss families; importing this package registers them all.

Registration order is the order ``losscli losses`` lists them in, so the imports are not
sorted.
"""

from losscli.losses import regression  # isort: skip  # noqa: F401
from losscli.losses import binary  # isort: skip  # noqa: F401
from losscli.losses import multiclass  # isort: skip  # noqa: F401
from losscli.losses import divergence  # isort: skip  # noqa: F401
from losscli.losses import noisy_labels  # isort: skip  # noqa: F401
from losscli.losses import overlap  # isort: skip  # noqa: F401
from losscli.losses import lovasz  # isort: skip  # noqa: F401
from losscli.losses import similarity  # isort: skip  # noqa: F401
from losscli.losses import skill  # isort: skip  # noqa: F401
from losscli.losses import calibration  # isort: skip  # noqa: F401
