"""The import directions of CONTRIBUTING.md, checked by parsing every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"
LEAVES = {"bot.errors", "bot.metrics"}

# package -> the bot packages its modules may import (besides itself and the leaves)
ALLOWED = {
    "bot.domain": set(),
    "bot.kazoo": {"bot.domain"},
    "bot.slack": {"bot.domain"},
    "bot.storage": {"bot.domain"},
    # The scheduler escapes conference names for its report lines (a documented exception).
    "bot.scheduling": {"bot.domain", "bot.storage", "bot.slack.escape"},
    # Written from the protocol reference, never from the client: no bot.kazoo.
    "bot.simulator": set(),
}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "bot" or name.startswith("bot.")}


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in ALLOWED:
        folder = BOT / package.split(".", 1)[1]
        found.extend((package, path) for path in sorted(folder.rglob("*.py")))
    return found


@pytest.mark.parametrize(("package", "path"), modules(), ids=lambda v: str(v).rsplit("/", 1)[-1])
def test_imports_follow_the_layers(package: str, path: Path) -> None:
    allowed = ALLOWED[package]
    for name in imports(path):
        if name.startswith(package) or name in LEAVES:
            continue
        assert any(name == a or name.startswith(a + ".") for a in allowed), (
            f"{path.relative_to(BOT.parent)} imports {name}"
        )
