"""Market domain: indicators and features computed in batch and incrementally from one definition."""
