"""Passes over record batches: accumulate, gradients, breakdowns, bootstrap; local and Dask backends."""
