"""Fault switches a test flips to make the emulator misbehave like a real exchange: rate limits,
outages, slow answers, broken bodies. Thread-safe: tests set them while the server runs in another thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class Fault:
    """One armed misbehaviour: fires on matching requests number after+1 .. after+count since it was armed."""

    kind: str  # "status" | "malformed" | "delay"
    count: int
    after: int = 0
    path: str | None = None
    status: int = 503
    retry_after: int | None = None
    delay: float = 0.0
    seen: int = 0

    def matches(self, path: str) -> bool:
        return self.path is None or self.path == path


class Faults:
    """The queue of armed faults plus a constant added latency."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[Fault] = []
        self.latency = 0.0

    def rate_limit(self, count: int = 1, retry_after: int | None = 1, *, status: int = 429,
                   path: str | None = None, after: int = 0) -> None:
        """Answer 429 (or 418) with a Binance -1003 body and a Retry-After header (seconds)."""
        self._arm(Fault("status", count, after, path, status=status, retry_after=retry_after))

    def unavailable(self, count: int = 1, status: int = 503, *, path: str | None = None,
                    after: int = 0) -> None:
        """Answer a plain-text 5xx, as a load balancer in trouble does."""
        self._arm(Fault("status", count, after, path, status=status))

    def malformed(self, count: int = 1, *, path: str | None = None, after: int = 0) -> None:
        """Answer 200 with truncated JSON: ccxt does not raise on it, the caller must notice."""
        self._arm(Fault("malformed", count, after, path))

    def slow(self, seconds: float, count: int = 1, *, path: str | None = None, after: int = 0) -> None:
        """Delay matching answers, e.g. past the client's timeout."""
        self._arm(Fault("delay", count, after, path, delay=seconds))

    def set_latency(self, seconds: float) -> None:
        self.latency = seconds

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()
        self.latency = 0.0

    @property
    def pending(self) -> int:
        """Faults that have not fired all their times yet."""
        with self._lock:
            return len(self._armed)

    def take(self, path: str) -> Fault | None:
        """Count this request against every matching fault and return the first one that fires."""
        fired: Fault | None = None
        with self._lock:
            for fault in self._armed:
                if not fault.matches(path):
                    continue
                fault.seen += 1
                if fired is None and fault.after < fault.seen <= fault.after + fault.count:
                    fired = fault
            self._armed = [f for f in self._armed if f.seen < f.after + f.count]
        return fired

    def _arm(self, fault: Fault) -> None:
        if fault.count < 1 or fault.after < 0:
            raise ValueError("a fault needs count >= 1 and after >= 0")
        with self._lock:
            self._armed.append(fault)
