"""From a loss expression ("0.7*mse + huber(delta=0.5)") to bound objectives, with library conventions."""
