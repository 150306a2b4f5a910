"""The losses: the registry, their parameters, one module per family, and the metrics.

Importing this package registers nothing; ``registry`` loads ``builtin`` (every family)
the first time a loss is looked up.
"""
