"""Every topic name is built here, MQTT-style. Symbols are encoded ('BTC/USDT' -> 'BTC-USDT') and topics
are never parsed back into symbols."""

from __future__ import annotations

ACCOUNT_EQUITY = "account/equity"


def encode_symbol(symbol: str) -> str:
    return symbol.replace("/", "-").replace(":", "-")


def candles(venue: str, symbol: str, width: str) -> str:
    return f"market/{venue}/{encode_symbol(symbol)}/candles/{width}"


def trades(venue: str, symbol: str) -> str:
    return f"market/{venue}/{encode_symbol(symbol)}/trades"


def features(venue: str, symbol: str, width: str) -> str:
    return f"features/{venue}/{encode_symbol(symbol)}/{width}"


def predictions(model_id: str, venue: str, symbol: str) -> str:
    return f"predictions/{model_id}/{venue}/{encode_symbol(symbol)}"


def all_predictions(venue: str, symbol: str) -> str:
    return f"predictions/+/{venue}/{encode_symbol(symbol)}"


def orders(venue: str, symbol: str) -> str:
    return f"orders/{venue}/{encode_symbol(symbol)}"


def order_updates(venue: str, symbol: str) -> str:
    return f"order-updates/{venue}/{encode_symbol(symbol)}"


def fills(venue: str, symbol: str) -> str:
    return f"fills/{venue}/{encode_symbol(symbol)}"


def positions(venue: str, symbol: str) -> str:
    return f"positions/{venue}/{encode_symbol(symbol)}"


def health(component: str) -> str:
    return f"system/{component}/health"


def matches(topic_filter: str, topic: str) -> bool:
    """MQTT matching: '+' is one level, a trailing '#' is any number of levels (including none)."""
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return index == len(filter_levels) - 1
        if index >= len(topic_levels):
            return False
        if level != "+" and level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)
