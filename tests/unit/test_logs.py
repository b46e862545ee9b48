"""Logs as text or JSON, with secrets blanked wherever they appear."""

from __future__ import annotations

import json
import logging

import pytest

from bot.logs import REDACTED, JsonFormatter, Redactor, setup_logging


def test_configured_secrets_and_token_shapes_are_redacted() -> None:
    redactor = Redactor(["supersecretpassword"])
    text = (
        "login with supersecretpassword, bot xoxb-123-456-abc, app xapp-1-A1-xyz, "
        "kazoo eyJhbGciOiJSUzI1NiJ9.eyJhY2NvdW50X2lkIjoiYSJ9.c2lnbmF0dXJl"
    )
    cleaned = redactor.redact(text)
    assert "supersecretpassword" not in cleaned and "xoxb-" not in cleaned
    assert "xapp-" not in cleaned and "eyJ" not in cleaned
    assert cleaned.count(REDACTED) == 4


def test_json_lines_and_exceptions_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("json", ["hunter2hunter2"])
    log = logging.getLogger("bot.test")
    try:
        raise RuntimeError("token hunter2hunter2 refused")
    except RuntimeError:
        log.exception("failed for %s", "hunter2hunter2")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["level"] == "error" and entry["logger"] == "bot.test"
    assert "hunter2hunter2" not in line
    assert "RuntimeError" in entry["error"]
    logging.getLogger().handlers.clear()


def test_text_format() -> None:
    record = logging.LogRecord("bot.x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    assert json.loads(JsonFormatter().format(record))["message"] == "hello world"
