"""Topic names are the documented ones (DESIGN.md §4) and MQTT matching follows the MQTT rules."""

from __future__ import annotations

import pytest

from dopebot.core import topics


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        (topics.candles("binance", "BTC/USDT", "1m"), "market/binance/BTC-USDT/candles/1m"),
        (topics.trades("binance", "BTC/USDT"), "market/binance/BTC-USDT/trades"),
        (topics.features("binance", "ETH/USDT", "15m"), "features/binance/ETH-USDT/15m"),
        (topics.predictions("lgbm-7f3a", "binance", "BTC/USDT"), "predictions/lgbm-7f3a/binance/BTC-USDT"),
        (topics.all_predictions("binance", "BTC/USDT"), "predictions/+/binance/BTC-USDT"),
        (topics.orders("binance", "BTC/USDT"), "orders/binance/BTC-USDT"),
        (topics.order_updates("binance", "BTC/USDT"), "order-updates/binance/BTC-USDT"),
        (topics.fills("binance", "BTC/USDT"), "fills/binance/BTC-USDT"),
        (topics.positions("binance", "BTC/USDT"), "positions/binance/BTC-USDT"),
        (topics.ACCOUNT_EQUITY, "account/equity"),
        (topics.health("trader"), "system/trader/health"),
    ],
)
def test_builders_give_the_documented_names(topic: str, expected: str) -> None:
    assert topic == expected


@pytest.mark.parametrize(
    ("symbol", "encoded"),
    [
        ("BTC/USDT", "BTC-USDT"),
        ("BTC/USDT:USDT", "BTC-USDT-USDT"),  # linear perpetual
        ("ETH/BTC", "ETH-BTC"),
        ("BTCUSDT", "BTCUSDT"),
    ],
)
def test_symbols_are_encoded_into_one_level(symbol: str, encoded: str) -> None:
    assert topics.encode_symbol(symbol) == encoded
    assert topics.candles("okx", symbol, "1h") == f"market/okx/{encoded}/candles/1h"
    assert topics.fills("okx", symbol).split("/") == ["fills", "okx", encoded]


def test_a_perpetual_symbol_stays_one_level_in_every_builder() -> None:
    symbol = "BTC/USDT:USDT"
    built = [
        topics.candles("binance", symbol, "1m"),
        topics.trades("binance", symbol),
        topics.features("binance", symbol, "1m"),
        topics.predictions("m", "binance", symbol),
        topics.orders("binance", symbol),
        topics.order_updates("binance", symbol),
        topics.fills("binance", symbol),
        topics.positions("binance", symbol),
    ]
    assert [topic.count("/") for topic in built] == [4, 3, 3, 3, 2, 2, 2, 2]
    assert all("BTC-USDT-USDT" in topic.split("/") for topic in built)
    assert not any(":" in topic for topic in built)


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        # exact
        ("account/equity", "account/equity", True),
        ("account/equity", "account/balance", False),
        # '#' at the root matches everything
        ("#", "account/equity", True),
        ("#", "market/binance/BTC-USDT/candles/1m", True),
        ("#", "a", True),
        # trailing '#' matches any number of levels, including none (the parent itself)
        ("fills/#", "fills/binance/BTC-USDT", True),
        ("fills/#", "fills/binance", True),
        ("fills/#", "fills", True),
        ("fills/#", "orders/binance/BTC-USDT", False),
        ("market/binance/#", "market/okx/BTC-USDT/trades", False),
        # '#' anywhere but last matches nothing
        ("market/#/trades", "market/binance/BTC-USDT/trades", False),
        ("#/trades", "market/trades", False),
        # '+' is exactly one level
        ("predictions/+/binance/BTC-USDT", "predictions/lgbm-1/binance/BTC-USDT", True),
        ("predictions/+/binance/BTC-USDT", "predictions/lgbm-1/binance/ETH-USDT", False),
        ("predictions/+/binance/BTC-USDT", "predictions/binance/BTC-USDT", False),
        ("predictions/+/binance/BTC-USDT", "predictions/a/b/binance/BTC-USDT", False),
        ("+", "account", True),
        ("+", "account/equity", False),
        ("+/+", "account/equity", True),
        ("market/+/+/candles/+", "market/binance/BTC-USDT/candles/1m", True),
        ("market/+/+/candles/+", "market/binance/BTC-USDT/trades", False),
        ("+/#", "account/equity", True),
        ("+/#", "account", True),
        ("market/+/BTC-USDT/#", "market/okx/BTC-USDT/candles/1h", True),
        # length mismatch without wildcards
        ("account", "account/equity", False),
        ("account/equity/extra", "account/equity", False),
        ("account/equity", "account", False),
        # '+' and '#' in a level with other characters are literal, not wildcards
        ("a+/b", "ax/b", False),
        ("a/b#", "a/bc", False),
    ],
)
def test_matches_truth_table(topic_filter: str, topic: str, expected: bool) -> None:
    assert topics.matches(topic_filter, topic) is expected


def test_the_all_predictions_filter_matches_every_model_for_its_symbol_only() -> None:
    wanted = topics.all_predictions("binance", "BTC/USDT")
    assert topics.matches(wanted, topics.predictions("lgbm-a", "binance", "BTC/USDT"))
    assert topics.matches(wanted, topics.predictions("momentum", "binance", "BTC/USDT"))
    assert not topics.matches(wanted, topics.predictions("lgbm-a", "binance", "BTC/USDT:USDT"))
    assert not topics.matches(wanted, topics.predictions("lgbm-a", "okx", "BTC/USDT"))
