"""Real `confbot run` processes sharing one PostgreSQL, between the simulator and the fake Slack.

Used by the failover tests and `bench/failover.py`. Each replica is a separate Python process, so
it can be killed with SIGKILL like a crashed machine.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.integration.harness import World

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Replica:
    name: str
    process: asyncio.subprocess.Process
    port: int
    log: Path
    killed_at: float | None = None

    async def health(self) -> dict[str, Any] | None:
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                response = await client.get(f"http://127.0.0.1:{self.port}/healthz")
            body: dict[str, Any] = response.json()
            body["http_status"] = response.status_code
            return body
        except (httpx.HTTPError, ValueError):
            return None

    async def role(self) -> str | None:
        health = await self.health()
        return None if health is None else str(health.get("role"))

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no lease release, sockets dropped by the OS."""
        self.killed_at = time.monotonic()
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout=20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@dataclass
class Cluster:
    world: World
    database: str
    folder: Path
    replicas: list[Replica] = field(default_factory=list)

    async def start(self, name: str) -> Replica:
        port = _free_port()
        log = self.folder / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KAZOO_"))}
        env.update(
            {
                "SLACK_BOT_TOKEN": "xoxb-test",
                "SLACK_APP_TOKEN": "xapp-test",
                "SLACK_API_URL": self.world.slack.api_url,
                "CONFBOT_HTTP_PORT": str(port),
                "KAZOO_URL": self.world.sim.http_url,
                "KAZOO_WS_URL": self.world.sim.ws_url,
                "KAZOO_API_KEY": self.world.sim.api_key,
                "CONFBOT_DATABASE_URL": self.database,
                "PYTHONPATH": str(ROOT),
            }
        )
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=env,
                cwd=str(self.folder),
            )
        replica = Replica(name, process, port, log)
        self.replicas.append(replica)
        return replica

    async def wait_for_role(self, replica: Replica, role: str, timeout: float = 30.0) -> float:
        """Seconds waited until `replica` reports `role` and is ready."""
        started = time.monotonic()
        while True:
            health = await replica.health()
            if health and health.get("role") == role and health.get("http_status") == 200:
                return time.monotonic() - started
            if replica.process.returncode is not None:
                raise AssertionError(f"{replica.name} exited: {replica.log.read_text()[-3000:]}")
            if time.monotonic() - started > timeout:
                raise AssertionError(
                    f"{replica.name} never became {role}: {health}\n"
                    f"{replica.log.read_text()[-3000:]}"
                )
            await asyncio.sleep(0.1)

    async def owner(self, timeout: float = 30.0) -> Replica:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            for replica in self.replicas:
                if replica.process.returncode is None and await replica.role() == "owner":
                    return replica
            await asyncio.sleep(0.1)
        raise AssertionError("no replica owns the lease")

    async def stop(self) -> None:
        await asyncio.gather(*(replica.stop() for replica in self.replicas))
