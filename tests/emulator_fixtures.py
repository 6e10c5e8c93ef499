"""Emulator fixtures, loaded by the test modules with `pytest_plugins = ["tests.emulator_fixtures"]` rather than
living in conftest.py, which other work streams edit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from dopebot.emulator import EmulatorServer, running_emulator
from tests.emulator_support import generated_market, local_exchange


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    """One emulator thread per test module: starting ccxt and the server per test would be slow."""
    with running_emulator(generated_market()) as server:
        yield server

@pytest.fixture
def emu(emulator: EmulatorServer) -> Iterator[EmulatorServer]:
    """The module's emulator with an empty log and no armed faults."""
    emulator.reset()
    yield emulator
    emulator.reset()

@pytest.fixture
async def exchange(emu: EmulatorServer) -> AsyncIterator[Any]:
    client = local_exchange(emu.url)
    try:
        yield client
    finally:
        await client.close()
