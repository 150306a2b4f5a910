"""Metrics reported beside the losses: skill scores (D²) and calibration."""
