"""Trading domain: strategies' interface, trader, risk, portfolio, simulated broker. Synchronous, time-free."""
