"""Inputs and outputs: a path, "-" or a dataset read as record batches (CSV, Parquet, JSON Lines), and sinks."""
