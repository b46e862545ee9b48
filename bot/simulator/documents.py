"""Conference documents as crossbar stores them: validation, number clashes, soft delete, the list
view.

Kept apart from the realtime state (``state.py``): a conference may run with no document (ad-hoc),
and a document exists whether or not anyone is in the call (reference §3.0).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import secrets
from collections.abc import Callable
from typing import Any

from bot.simulator.model import GREGORIAN_OFFSET
from bot.simulator.schema import CONFERENCE_SCHEMA, errors_to_data, validate, with_defaults

Doc = dict[str, Any]

# The keys the conferences/crossbar_listing view emits (reference §3.1); nothing else is listed.
_VIEW_KEYS = ("id", "name", "owner_id", "member", "moderator", "ui_flags", "conference_numbers")


def new_id() -> str:
    """A CouchDB-style document id: 32 lowercase hex characters."""
    return secrets.token_hex(16)


def public(doc: Doc) -> Doc:
    """The document as crossbar shows it: ``id`` first, no ``_`` or ``pvt_`` fields."""
    shown: Doc = {"id": doc["_id"]}
    shown.update(
        (k, copy.deepcopy(v))
        for k, v in doc.items()
        if not k.startswith("_") and not k.startswith("pvt_")
    )
    return shown


def adhoc(conference_id: str) -> Doc:
    """What ``kzd_conference:new/0`` plus ``id`` gives for an unknown id: the schema defaults."""
    return {"id": conference_id, **with_defaults(CONFERENCE_SCHEMA, {})}


def client_fields(data: Doc) -> Doc:
    """Request data minus what a client may not set (id, private and read-only fields)."""
    return {
        k: copy.deepcopy(v)
        for k, v in data.items()
        if k not in ("id", "_read_only") and not k.startswith("_") and not k.startswith("pvt_")
    }


def deep_merge(base: Doc, patch: Doc) -> Doc:
    """``kz_json:merge``: objects merge recursively, anything else in ``patch`` wins."""
    merged = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def numbers_of(doc: Doc) -> list[str]:
    """Every dial-in number of a document, as the conference/listing_by_number view emits them."""
    found: list[str] = []
    for role in ("moderator", "member"):
        section = doc.get(role)
        if isinstance(section, dict) and isinstance(section.get("numbers"), list):
            found.extend(n for n in section["numbers"] if isinstance(n, str))
    if isinstance(doc.get("conference_numbers"), list):
        found.extend(n for n in doc["conference_numbers"] if isinstance(n, str))
    return found


class ConferenceStore:
    """The account database's conference documents."""

    def __init__(self, *, account_id: str, clock: Callable[[], float]) -> None:
        self._account_id = account_id
        self._clock = clock
        self._docs: dict[str, Doc] = {}

    def get(self, conference_id: str) -> Doc | None:
        """The stored document, or None if missing or soft-deleted."""
        doc = self._docs.get(conference_id)
        if doc is None or doc.get("pvt_deleted"):
            return None
        return doc

    def check(self, data: Doc, *, exclude_id: str | None = None) -> dict[str, Any] | None:
        """The validation-error data for ``data`` (schema, then number clashes), or None."""
        errors = validate(CONFERENCE_SCHEMA, data)
        if errors:
            return errors_to_data(errors)
        clashes = self._clashing_numbers(numbers_of(data), exclude_id)
        if clashes:
            return {
                "numbers": {
                    "unique": {"message": "Numbers already in use", "cause": ", ".join(clashes)}
                }
            }
        return None

    def create(self, data: Doc, *, conference_id: str | None = None) -> Doc:
        """Save a new document; ``data`` must already have passed :meth:`check`."""
        now = self._gregorian_now()
        doc: Doc = with_defaults(CONFERENCE_SCHEMA, client_fields(data))
        doc.update(
            _id=conference_id or new_id(),
            pvt_type="conference",
            pvt_account_id=self._account_id,
            pvt_created=now,
            pvt_modified=now,
            pvt_vsn="1",
        )
        return self._save(doc)

    def replace(self, conference_id: str, data: Doc) -> Doc:
        """POST: new public fields over the stored private ones (``crossbar_doc:load_merge``)."""
        stored = self._docs[conference_id]
        private = {k: v for k, v in stored.items() if k.startswith("_") or k.startswith("pvt_")}
        doc = {**with_defaults(CONFERENCE_SCHEMA, client_fields(data)), **private}
        doc["pvt_modified"] = self._gregorian_now()
        return self._save(doc)

    def delete(self, conference_id: str) -> Doc:
        """Soft delete, the crossbar default: the document stays but is no longer found."""
        doc = self._docs[conference_id]
        doc["pvt_deleted"] = True
        doc["pvt_modified"] = self._gregorian_now()
        return self._save(doc)

    def listing(self) -> list[Doc]:
        """The crossbar_listing view values, sorted by document id like the view rows."""
        rows: list[Doc] = []
        for doc_id in sorted(self._docs):
            doc = self.get(doc_id)
            if doc is None:
                continue
            shown = public(doc)
            # A JavaScript view drops undefined values; flags defaults to [].
            row = {k: shown[k] for k in _VIEW_KEYS if k in shown}
            row["flags"] = shown.get("flags", [])
            rows.append(row)
        return rows

    def _clashing_numbers(self, numbers: list[str], exclude_id: str | None) -> list[str]:
        wanted = set(numbers)
        taken: set[str] = set()
        for doc_id, doc in self._docs.items():
            if doc_id != exclude_id and not doc.get("pvt_deleted"):
                taken.update(wanted.intersection(numbers_of(doc)))
        return sorted(taken)  # view rows come back sorted by key, the number

    def _save(self, doc: Doc) -> Doc:
        generation = int(str(doc.get("_rev", "0-")).split("-", 1)[0]) + 1
        body = json.dumps({k: v for k, v in doc.items() if k != "_rev"}, sort_keys=True)
        doc["_rev"] = f"{generation}-{hashlib.md5(body.encode()).hexdigest()}"
        self._docs[doc["_id"]] = doc
        return doc

    def _gregorian_now(self) -> int:
        return math.floor(self._clock()) + GREGORIAN_OFFSET
