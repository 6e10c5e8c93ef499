"""Adapters that bring market data in: Parquet history, exchange downloads, live feeds."""
