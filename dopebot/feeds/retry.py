"""Retry of exchange calls: transient failures (ccxt's NetworkError family, which includes 429/418 and 5xx,
plus bodies that parse to junk) are retried with backoff, honouring Retry-After; anything else, or too many
failures, becomes one ExchangeError line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import ccxt

from dopebot.core.errors import ExchangeError

T = TypeVar("T")


class MalformedResponse(ccxt.BadResponse):
    """A 200 answer whose content is junk (ccxt does not raise on broken JSON): worth another try."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 1.0  # seconds, doubled after each failure
    max_delay: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After (a ban) is not waited out
    sleep: Callable[[float], Awaitable[Any]] = field(default=asyncio.sleep, compare=False)

    def backoff(self, failure: int) -> float:
        return min(self.max_delay, self.base_delay * 2 ** (failure - 1))


def retry_after_seconds(headers: dict[str, str] | None) -> float | None:
    """Retry-After in seconds when the server sent one (the HTTP-date form is ignored)."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def one_line(error: BaseException, limit: int = 200) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


async def with_retries(call: Callable[[], Awaitable[T]], exchange: Any, what: str, policy: RetryPolicy) -> T:
    """Await call(), retrying transient failures; `what` names the request in the final error."""
    for failure in range(1, policy.attempts + 1):
        exchange.last_response_headers = None  # stale values must not be read as this answer's
        exchange.last_json_response = None
        try:
            return await call()
        except (ccxt.NetworkError, MalformedResponse) as error:
            if failure == policy.attempts:
                raise ExchangeError(f"{what}: gave up after {failure} attempts: {one_line(error)}") from None
            delay = _delay(error, exchange, failure, policy, what)
            await policy.sleep(delay)
        except ccxt.BaseError as error:
            raise ExchangeError(f"{what}: {one_line(error)}") from None
    raise AssertionError("unreachable: the loop returns or raises")


def _delay(error: Exception, exchange: Any, failure: int, policy: RetryPolicy, what: str) -> float:
    if isinstance(error, ccxt.DDoSProtection):
        asked = retry_after_seconds(getattr(exchange, "last_response_headers", None))
        if asked is not None:
            if asked > policy.max_retry_after:
                raise ExchangeError(f"{what}: rate limited, the exchange asks to wait {asked:g} s") from None
            return asked
    return policy.backoff(failure)
