"""The use cases: evaluate, gradients, compare, check, plot, recommend."""
