"""Prometheus metrics: a leaf module any layer may import, like `logging`.

Counters live in one registry of our own (not the process-wide default), so tests and the demo can
build several bots in one process and `/metrics` shows exactly confbot's figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

COMMANDS = Counter(
    "confbot_commands",
    "Slash commands and button clicks, by command word and outcome.",
    ["command", "outcome"],
    registry=REGISTRY,
)
KAZOO_REQUESTS = Counter(
    "confbot_kazoo_requests",
    "Kazoo REST requests, by method and HTTP status (or 'error' when no answer came).",
    ["method", "status"],
    registry=REGISTRY,
)
KAZOO_EVENTS = Counter(
    "confbot_kazoo_events",
    "Kazoo websocket events received, by event name.",
    ["event"],
    registry=REGISTRY,
)
SLACK_CALLS = Counter(
    "confbot_slack_calls",
    "Slack Web API calls, by method and outcome (ok, the Slack error, or ratelimited).",
    ["method", "outcome"],
    registry=REGISTRY,
)
SLACK_RATE_LIMITED = Counter(
    "confbot_slack_rate_limited",
    "Slack Web API calls answered 429, by method.",
    ["method"],
    registry=REGISTRY,
)
NOTICE_LAG = Histogram(
    "confbot_notice_lag_seconds",
    "From a Kazoo event's arrival to the Slack post or edit that showed it.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
    registry=REGISTRY,
)


class Live(Collector):
    """Figures read at scrape time from running parts (reconnects, watched conferences...)."""

    def __init__(self) -> None:
        self.sources: dict[str, tuple[str, str, Callable[[], float]]] = {}

    def add(self, name: str, kind: str, help_text: str, read: Callable[[], float]) -> None:
        self.sources[name] = (kind, help_text, read)

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        for name, (kind, help_text, read) in self.sources.items():
            if kind == "counter":
                yield CounterMetricFamily(name, help_text, value=read())
            else:
                yield GaugeMetricFamily(name, help_text, value=read())

    def describe(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily]:
        return []


LIVE = Live()
REGISTRY.register(LIVE)


def exposition() -> tuple[bytes, str]:
    """The `/metrics` body and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
