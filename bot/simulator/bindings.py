"""Blackhole's conference bindings: what a client may subscribe to, and which messages reach it.

Two server states exist in the field (reference §6.5): the 4.3 "conference-first" form
``conference.event.{C}.*[.{EVENT}]`` and the later "event-first" form
``conference.event.{EVENT|*}.{C}.{CALL|*}``. Error strings are bh_conference's and bh_events' own
(reference §6.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.simulator.model import CONFERENCE_EVENTS

CONFERENCE_FIRST = "conference-first"
EVENT_FIRST = "event-first"
BINDING_FORMATS = (CONFERENCE_FIRST, EVENT_FIRST)


class BindingError(ValueError):
    """A binding the server refuses; the message is the exact error string sent to the client."""


@dataclass(frozen=True)
class Binding:
    client_key: str  # as the client sent it; echoed as subscribed_key
    subscription_key: str  # the AMQP binding pattern it maps to
    conference_id: str


def parse_binding(binding: str, account_id: str, binding_format: str) -> Binding:
    """Map a client binding to its AMQP pattern, or raise :class:`BindingError`."""
    module, _, rest = binding.partition(".")
    if module != "conference":
        raise BindingError("no available subscriptions to requested binding")
    keys = rest.split(".") if rest else []
    match keys:
        case ["command", "*"]:
            raise BindingError("ConferenceId required")
        case ["command", conference_id]:
            return Binding(binding, f"conference.command.{conference_id}", conference_id)
    if binding_format == EVENT_FIRST:
        return _event_first(binding, keys, account_id)
    return _conference_first(binding, keys, account_id)


def _conference_first(binding: str, keys: list[str], account_id: str) -> Binding:
    match keys:
        case ["event", "*", *_]:
            raise BindingError("ConferenceId required")
        case ["event", conference_id, "*"]:
            return Binding(
                binding, f"conference.event.*.{account_id}.{conference_id}.*", conference_id
            )
        case ["event", conference_id, "*", event]:
            _check_event(event)
            return Binding(
                binding, f"conference.event.{event}.{account_id}.{conference_id}.*", conference_id
            )
    raise BindingError(_invalid_format(keys))


def _event_first(binding: str, keys: list[str], account_id: str) -> Binding:
    match keys:
        case ["event", event, conference_id, call_id]:
            _check_event(event)
            if conference_id == "*":
                # Only super-duper admins may use it, and the simulator's accounts are never that.
                raise BindingError("unauthorized wildcard for conference id")
            return Binding(
                binding,
                f"conference.event.{event}.{account_id}.{conference_id}.{call_id}",
                conference_id,
            )
    raise BindingError(_invalid_format(keys))


def _check_event(event: str) -> None:
    if event != "*" and event not in CONFERENCE_EVENTS:
        raise BindingError(f"Unsupported conference event {event}")


def _invalid_format(keys: list[str]) -> str:
    return "invalid format for conference subscription : " + ", ".join(keys)


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` zero or more."""
    return _match(pattern.split("."), key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, tail = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(tail, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head in ("*", words[0])) and _match(tail, words[1:])
