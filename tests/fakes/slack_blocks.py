"""A partial Block Kit validator: the limits a bot most often trips over.

Slack answers ``{"ok": false, "error": "invalid_blocks"}`` with messages of the form
``"must be less than 3001 characters [json-pointer:/blocks/0/text/text]"``; this module
produces the same shape for the subset of rules it knows. Unknown block and element types are
accepted unchecked, so a pass here does not prove Slack would accept the blocks.
"""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50
MAX_ID = 255
SECTION_TEXT = 3000
SECTION_FIELDS = 10
SECTION_FIELD_TEXT = 2000
HEADER_TEXT = 150
ACTIONS_ELEMENTS = 25
CONTEXT_ELEMENTS = 10
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_URL = 3000
TEXT_TYPES = {"plain_text", "mrkdwn"}


def _too_many(limit: int, pointer: str) -> str:
    return f"must contain no more than {limit} items [json-pointer:{pointer}]"


def validate_blocks(blocks: list[Any]) -> list[str]:
    """Return Slack-style error strings; empty if nothing this validator knows is wrong."""
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(_too_many(MAX_BLOCKS, "/blocks"))
    seen_block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"missing required field: type [json-pointer:{where}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > MAX_ID:
                errors.append(_too_long(MAX_ID, f"{where}/block_id"))
            elif block_id in seen_block_ids:
                errors.append(f"duplicate block_id {block_id!r} [json-pointer:{where}/block_id]")
            else:
                seen_block_ids.add(block_id)
        errors.extend(_validate_block(block, where))
    return errors


def _validate_block(block: dict[str, Any], where: str) -> list[str]:
    errors: list[str] = []
    kind = block["type"]
    if kind == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and fields is None:
            errors.append(f"must provide either text or fields [json-pointer:{where}]")
        if text is not None:
            errors.extend(_validate_text(text, f"{where}/text", SECTION_TEXT))
        if fields is not None:
            if not isinstance(fields, list) or len(fields) > SECTION_FIELDS:
                errors.append(_too_many(SECTION_FIELDS, f"{where}/fields"))
            else:
                for j, field in enumerate(fields):
                    errors.extend(_validate_text(field, f"{where}/fields/{j}", SECTION_FIELD_TEXT))
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            errors.extend(_validate_element(accessory, f"{where}/accessory"))
    elif kind == "header":
        errors.extend(
            _validate_text(block.get("text"), f"{where}/text", HEADER_TEXT, plain_only=True)
        )
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errors.append(f"missing required field: elements [json-pointer:{where}]")
        elif len(elements) > ACTIONS_ELEMENTS:
            errors.append(_too_many(ACTIONS_ELEMENTS, f"{where}/elements"))
        else:
            errors.extend(_validate_elements(elements, where))
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errors.append(f"missing required field: elements [json-pointer:{where}]")
        elif len(elements) > CONTEXT_ELEMENTS:
            errors.append(_too_many(CONTEXT_ELEMENTS, f"{where}/elements"))
    return errors


def _validate_elements(elements: list[Any], where: str) -> list[str]:
    errors: list[str] = []
    seen: set[str] = set()
    for j, element in enumerate(elements):
        path = f"{where}/elements/{j}"
        if not isinstance(element, dict):
            errors.append(f"must be an object [json-pointer:{path}]")
            continue
        action_id = element.get("action_id")
        if isinstance(action_id, str):
            if action_id in seen:
                errors.append(f"duplicate action_id {action_id!r} [json-pointer:{path}/action_id]")
            seen.add(action_id)
        errors.extend(_validate_element(element, path))
    return errors


def _validate_element(element: dict[str, Any], where: str) -> list[str]:
    errors: list[str] = []
    action_id = element.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or len(action_id) > MAX_ID):
        errors.append(_too_long(MAX_ID, f"{where}/action_id"))
    if element.get("type") == "button":
        errors.extend(
            _validate_text(element.get("text"), f"{where}/text", BUTTON_TEXT, plain_only=True)
        )
        value = element.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > BUTTON_VALUE):
            errors.append(_too_long(BUTTON_VALUE, f"{where}/value"))
        url = element.get("url")
        if url is not None and (not isinstance(url, str) or len(url) > BUTTON_URL):
            errors.append(_too_long(BUTTON_URL, f"{where}/url"))
        style = element.get("style")
        if style is not None and style not in {"primary", "danger"}:
            errors.append(f"must be one of primary, danger [json-pointer:{where}/style]")
    return errors


def _validate_text(text: Any, where: str, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(text, dict):
        return [f"missing required field: text [json-pointer:{where}]"]
    allowed = {"plain_text"} if plain_only else TEXT_TYPES
    if text.get("type") not in allowed:
        return [f"must be one of {', '.join(sorted(allowed))} [json-pointer:{where}/type]"]
    body = text.get("text")
    if not isinstance(body, str) or not body:
        return [f"must be more than 0 characters [json-pointer:{where}/text]"]
    if len(body) > limit:
        return [_too_long(limit, f"{where}/text")]
    return []


def _too_long(limit: int, pointer: str) -> str:
    return f"must be less than {limit + 1} characters [json-pointer:{pointer}]"
