"""Candle widths: '10s', '1m', '15m', '1h', '1d' <-> milliseconds; ISO dates <-> milliseconds."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from dopebot.core.errors import UsageError

_UNITS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_PATTERN = re.compile(r"^(\d+)([smhdw])$")


def width_ms(timeframe: str) -> int:
    match = _PATTERN.match(timeframe)
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"timeframe {timeframe!r}: expected a number and a unit, like 10s, 1m, 15m, 1h, 1d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def parse_time(text: str, what: str = "time") -> int:
    """ISO date or datetime (UTC unless an offset is given) -> ms since epoch."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{what} {text!r}: expected an ISO date like 2024-01-01 or 2024-01-01T12:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def iso(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
