"""What a person reads after a run: the summary table, CSV and JSON exports, equity charts."""
