"""User strategies, loaded by name (`--strategy sma_cross`) or by path (`--strategy path/to/file.py`)."""
