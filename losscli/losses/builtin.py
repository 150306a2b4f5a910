"""The built-in loss families and metrics; importing this module registers them all.

``registry`` imports it on first use (so start-up loads no family it does not need).
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
from losscli.losses.metrics import skill  # isort: skip  # noqa: F401
from losscli.losses.metrics import calibration  # isort: skip  # noqa: F401
from losscli.losses.metrics import classification  # isort: skip  # noqa: F401
