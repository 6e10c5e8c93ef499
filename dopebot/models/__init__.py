"""Models: baselines, LightGBM training and inference, validation, registry, and the runners that publish
predictions on the bus (the rendezvous pattern: every model sees every candle)."""
