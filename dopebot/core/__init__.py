"""Core: types, money, clock, topics, bus, errors, config. Standard library only."""
