"""The losses: the registry, their parameters, one module per family, and the metrics.

Importing this package registers nothing; ``registry`` imports the family of a name the
first time it is looked up (``builtin``), and every family when all are listed.
"""
