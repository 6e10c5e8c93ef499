"""Runtime: the composition root (node), the backtest driver and (later) the asyncio live driver."""
