"""A small draft-04 JSON-schema checker that reports errors the way Kazoo's crossbar does.

Crossbar validates request data with jesse and turns each failure into ``{path: {rule: detail}}``,
where the path is joined with ``.`` (literal dots escaped as ``%2E``) and the detail messages are
fixed strings from ``kz_json_schema.erl`` (reference §1.3). Only the keywords the conference,
api_auth and user_auth schemas use are supported. The schemas below are written from the field
tables of reference §2 and §4.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Schema = Mapping[str, Any]
Path = tuple[str | int, ...]

_DIGIT_STRING: Schema = {"type": "string", "pattern": "^[0-9]+$"}


def _numbers() -> dict[str, Any]:
    return {"type": "array", "items": _DIGIT_STRING, "uniqueItems": True, "default": []}


def _pins() -> dict[str, Any]:
    return {"type": "array", "items": _DIGIT_STRING, "default": []}


def _role(*, join_muted: bool) -> dict[str, Any]:
    return {
        "type": "object",
        "default": {},
        "properties": {
            "join_muted": {"type": "boolean", "default": join_muted},
            "join_deaf": {"type": "boolean", "default": False},
            "numbers": _numbers(),
            "pins": _pins(),
            "play_entry_prompt": {"type": "boolean"},
        },
    }


_STRING: Schema = {"type": "string"}
_BOOLEAN: Schema = {"type": "boolean"}
_TONE: Schema = {"type": ["boolean", "string"]}

# No top-level "required", no additionalProperties:false: unknown keys (ui_metadata) stay (§4).
CONFERENCE_SCHEMA: Schema = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 128},
        "owner_id": {"type": "string", "minLength": 32, "maxLength": 32},
        "conference_numbers": _numbers(),
        "member": _role(join_muted=True),
        "moderator": _role(join_muted=False),
        "play_entry_tone": _TONE,
        "play_exit_tone": _TONE,
        "play_name": {"type": "boolean", "default": False},
        "play_welcome": _BOOLEAN,
        "max_participants": {"type": "integer"},
        "max_members_media": _STRING,
        "language": _STRING,
        "profile": {"type": "object"},
        "profile_name": _STRING,
        "caller_controls": _STRING,
        "moderator_controls": _STRING,
        "controls": {"type": "object"},
        "require_moderator": _BOOLEAN,
        "wait_for_moderator": _BOOLEAN,
        "flags": {"type": "array", "items": _STRING},
        "focus": _STRING,
        "domain": _STRING,
        "bridge_username": _STRING,
        "bridge_password": _STRING,
    },
}

API_AUTH_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["api_key"],
    "properties": {"api_key": {"type": "string", "minLength": 64, "maxLength": 64}},
}

USER_AUTH_SCHEMA: Schema = {
    "type": "object",
    "required": ["credentials"],
    "properties": {
        "credentials": {"type": "string", "minLength": 1, "maxLength": 64},
        # The enum value really is "sha", not "sha1" (reference §2.2).
        "method": {"type": "string", "enum": ["md5", "sha"], "default": "md5"},
        "account_name": {"type": "string", "minLength": 1, "maxLength": 128},
        "account_realm": {
            "type": "string",
            "minLength": 4,
            "maxLength": 253,
            "pattern": r"^[.\w_-]+$",
        },
        "phone_number": {"type": "string", "minLength": 1, "maxLength": 64},
    },
}


@dataclass(frozen=True)
class SchemaError:
    path: Path
    rule: str
    detail: dict[str, Any]


def validate(schema: Schema, value: Any) -> list[SchemaError]:
    """Every failure in ``value``, collected the way crossbar collects them (not just the first)."""
    errors: list[SchemaError] = []
    _check(schema, value, (), errors)
    return errors


def errors_to_data(errors: list[SchemaError]) -> dict[str, Any]:
    """The ``data`` map of a 400 validation error: ``{"a.b": {"rule": {...}}}``."""
    data: dict[str, Any] = {}
    for error in errors:
        key = ".".join(str(part).replace(".", "%2E") for part in error.path)
        data.setdefault(key, {})[error.rule] = error.detail
    return data


def with_defaults(schema: Schema, value: Any) -> Any:
    """A copy of ``value`` with missing properties filled from the schema defaults, recursively.

    An absent object with a default (``member: {}``) is created and then filled itself, so a stored
    conference always has ``member.join_muted`` and friends, as saved documents of a real Kazoo do.
    """
    result = copy.deepcopy(value)
    if not isinstance(result, dict):
        return result
    for key, sub in schema.get("properties", {}).items():
        if key not in result and "default" in sub:
            result[key] = copy.deepcopy(sub["default"])
        if key in result:
            result[key] = with_defaults(sub, result[key])
    return result


def _type_ok(expected: str, value: Any) -> bool:
    match expected:
        case "string":
            return isinstance(value, str)
        case "boolean":
            return isinstance(value, bool)
        case "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        case "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        case "array":
            return isinstance(value, list)
        case "object":
            return isinstance(value, dict)
        case "null":
            return value is None
    return True


def _check(schema: Schema, value: Any, path: Path, errors: list[SchemaError]) -> None:
    types = schema.get("type")
    if types is not None:
        wanted = [types] if isinstance(types, str) else list(types)
        if not any(_type_ok(t, value) for t in wanted):
            joined = ", ".join(wanted)
            errors.append(
                SchemaError(
                    path,
                    "type",
                    {
                        "message": f"Value did not match type(s): {joined}",
                        "target": joined,
                        "value": value,
                    },
                )
            )
            return  # the other keywords only make sense for the right type
    if "enum" in schema and value not in schema["enum"]:
        errors.append(
            SchemaError(
                path,
                "enum",
                {
                    "message": "Value not found in enumerated list of values",
                    "target": list(schema["enum"]),
                    "value": value,
                },
            )
        )
    if isinstance(value, str):
        _check_string(schema, value, path, errors)
    elif isinstance(value, list):
        _check_array(schema, value, path, errors)
    elif isinstance(value, dict):
        _check_object(schema, value, path, errors)


def _check_string(schema: Schema, value: str, path: Path, errors: list[SchemaError]) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        n = schema["minLength"]
        errors.append(
            SchemaError(
                path,
                "minLength",
                {
                    "message": f"String must be at least {n} characters",
                    "target": n,
                    "cause": value,
                    "value": value,
                },
            )
        )
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        n = schema["maxLength"]
        errors.append(
            SchemaError(
                path,
                "maxLength",
                {
                    "message": f"String must not be more than {n} characters",
                    "target": n,
                    "cause": value,
                    "value": value,
                },
            )
        )
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        pattern = schema["pattern"]
        errors.append(
            SchemaError(
                path,
                "pattern",
                {
                    "message": f"Failed to match pattern '{pattern}'",
                    "target": pattern,
                    "value": value,
                },
            )
        )


def _check_array(schema: Schema, value: list[Any], path: Path, errors: list[SchemaError]) -> None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        n = schema["minItems"]
        errors.append(
            SchemaError(
                path,
                "minItems",
                {
                    "message": f"The list must have at least {n} items",
                    "target": n,
                    "value": value,
                },
            )
        )
    if schema.get("uniqueItems"):
        seen = [json.dumps(item, sort_keys=True) for item in value]
        if len(set(seen)) != len(seen):
            errors.append(
                SchemaError(
                    path, "uniqueItems", {"message": "List of items is not unique", "value": value}
                )
            )
    items = schema.get("items")
    if items is not None:
        for index, item in enumerate(value):
            _check(items, item, (*path, index), errors)  # jesse paths index arrays from 0


def _check_object(
    schema: Schema, value: dict[str, Any], path: Path, errors: list[SchemaError]
) -> None:
    properties: Mapping[str, Schema] = schema.get("properties", {})
    for key in schema.get("required", []):
        if key not in value:
            errors.append(
                SchemaError((*path, key), "required", {"message": "Field is required but missing"})
            )
    for key, item in value.items():
        if key in properties:
            _check(properties[key], item, (*path, key), errors)
        elif schema.get("additionalProperties") is False:
            errors.append(
                SchemaError(
                    (*path, key),
                    "additionalProperties",
                    {
                        "message": "Strict checking of data is enabled; "
                        "only include schema-defined properties",
                        "value": item,
                    },
                )
            )
