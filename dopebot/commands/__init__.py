"""One module per CLI command: options arrive already parsed, heavy imports live here, not in cli.py."""
