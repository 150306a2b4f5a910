"""The built-in loss families; importing this package registers them all."""

from losscli.losses import regression  # noqa: F401
