"""Crossbar's per-client token buckets (reference §1.6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

BUCKET_CAPACITY = 100.0
# Tokens per second: the reference leaves the fill period unconfirmed; a second is the natural one.
FILL_RATE = 10.0
AUTH_COST = 35.0  # crossbar.api_auth_tokens / crossbar.user_auth_tokens defaults
REQUEST_COST = 1.0


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Buckets keyed ``"{client_ip}/{account_id}"``, refilled continuously by the injected clock."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        capacity: float = BUCKET_CAPACITY,
        fill_rate: float = FILL_RATE,
    ) -> None:
        self._clock = clock
        self._capacity = capacity
        self._fill_rate = fill_rate
        self._buckets: dict[str, _Bucket] = {}

    def consume(self, key: str, cost: float) -> float | None:
        """Take ``cost`` tokens; on refusal return the seconds until they would be there."""
        now = self._clock()
        bucket = self._buckets.setdefault(key, _Bucket(self._capacity, now))
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(self._capacity, bucket.tokens + elapsed * self._fill_rate)
        bucket.updated = now
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return None
        return (cost - bucket.tokens) / self._fill_rate
