"""The streaming contract (update -> partial sums -> compute) and the numerics under every loss."""
