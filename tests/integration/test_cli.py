"""The command line as a newcomer and an operator use it: the demo with piped input, check."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.simulator import KazooSimulator
from tests.fakes import FakeSlack

ROOT = Path(__file__).resolve().parents[2]


async def confbot(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> tuple[int, str]:
    """Run `python -m bot ARGS` in a clean environment (no .env, no inherited settings)."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KAZOO_", "CONFBOT_"))
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**clean, **(env or {})},
        cwd=str(ROOT / "tests"),  # a folder with no .env
    )
    out, _ = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=90)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_demo_with_piped_input_runs_to_completion() -> None:
    script = "\n".join(
        [
            "/conf list",
            "/conf status",
            "press 2",
            '/conf mute "Katherine"',
            "/conf kick alan",
            "yes",
            "/conf frobnicate",
            "press 99",
        ]
    )
    code, out = await confbot("demo", "--pace", "0.1", stdin=script + "\n")
    assert code == 0, out
    assert "confbot demo" in out
    assert "*Standup*" in out and "Planning" in out  # the list
    assert "[2 Mute all]" in out  # status buttons, numbered
    assert "muted everyone in *Standup*" in out  # press 2, with its audit line
    assert "@you muted everyone in *Standup*" in out
    assert "kicked Alan Turing from *Standup*" in out  # confirm dialog answered yes
    assert "Unknown command" in out
    assert "No button" in out
    assert "(live status, edited)" in out
    assert "ended" in out and "took part" in out  # the summary at the end of the meeting
    assert "Traceback" not in out


async def test_check_passes_against_the_simulator_and_a_slack() -> None:
    async with KazooSimulator() as sim, FakeSlack() as slack:
        sim.add_conference("Standup", numbers=["4000"])
        code, out = await confbot(
            "check",
            env={
                "KAZOO_URL": sim.http_url,
                "KAZOO_API_KEY": sim.api_key,
                "SLACK_BOT_TOKEN": "xoxb-test",
                "SLACK_APP_TOKEN": "xapp-test",
                "SLACK_API_URL": slack.api_url,
            },
        )
    assert code == 0, out
    lines = out.strip().splitlines()
    assert all(line.startswith("ok") for line in lines), out
    assert any("websocket" in line for line in lines)
    assert any("auth.test" in line for line in lines)


async def test_check_fails_naming_the_variable() -> None:
    code, out = await confbot("check", env={"KAZOO_URL": "http://127.0.0.1:9/v2"})
    assert code != 0
    assert "KAZOO_API_KEY" in out
    code, out = await confbot(
        "check",
        env={
            "KAZOO_URL": "http://127.0.0.1:9/v2",
            "KAZOO_API_KEY": "k" * 64,
            "KAZOO_USERNAME": "ada",
            "SLACK_BOT_TOKEN": "xoxb-x",
        },
    )
    assert code != 0 and "KAZOO_USERNAME" in out and "contradicts" in out


async def test_check_reports_unreachable_kazoo_and_bad_slack_token() -> None:
    async with FakeSlack() as slack:
        code, out = await confbot(
            "check",
            env={
                "KAZOO_URL": "http://127.0.0.1:9/v2",
                "KAZOO_API_KEY": "k" * 64,
                "SLACK_BOT_TOKEN": "xoxb-wrong",
                "SLACK_API_URL": slack.api_url,
            },
        )
    assert code == 1
    assert "FAIL Kazoo login" in out
    assert "ok   settings" in out


async def test_run_refuses_to_start_without_settings() -> None:
    code, out = await confbot("run")
    assert code == 2
    assert "configuration error" in out and "KAZOO_URL" in out


async def test_run_finishes_work_in_flight_on_sigterm_and_exits_0(tmp_path: Path) -> None:
    import signal
    import time

    from tests.integration.harness import ADA, world
    from tests.integration.replicas import Cluster

    async with world() as w:
        cluster = Cluster(w, f"sqlite:///{tmp_path / 'bot.db'}", tmp_path)
        replica = await cluster.start("solo")
        await cluster.wait_for_role(replica, "owner")
        w.sim.join(w.standup, "Linus", "+15550111")
        w.sim.latency = 1.5  # Kazoo is slow: the command is still in flight when we stop
        since = time.monotonic()
        envelope = await w.slack.push_slash_command("lock Standup", user_id=ADA)
        await w.slack.wait_for_ack(envelope)
        replica.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(replica.process.wait(), timeout=30)
        assert code == 0, replica.log.read_text()[-2000:]
        reply = await w.slack.wait_for_response(lambda r: r.time >= since, timeout=5)
        assert "locked *Standup*" in str(reply.text)
        assert w.sim.is_locked(w.standup)
