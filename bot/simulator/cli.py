"""``confbot simulator``: run the Kazoo simulator on its own, with demo conferences and a scripted
meeting."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from bot.simulator.simulator import KazooSimulator

MEETING_GAP = 10.0  # seconds of silence between two scripted meetings


async def serve(host: str, http_port: int, ws_port: int, quiet_meeting: bool) -> None:
    """Serve until cancelled, then stop cleanly and return (the caller maps signals to cancel)."""
    sim = KazooSimulator(host=host, http_port=http_port, ws_port=ws_port)
    standup = sim.add_conference(
        "Standup", numbers=["4000"], member_pins=["1234"], moderator_pins=["4321"]
    )
    sim.add_conference("Planning", numbers=["4001"], member_pins=["5678"])
    sim.add_conference("All Hands", numbers=["4002", "4003"], member_join_muted=True)
    try:
        async with sim:
            for line in (
                f"KAZOO_URL={sim.http_url}",
                f"KAZOO_WS_URL={sim.ws_url}",
                f"KAZOO_API_KEY={sim.api_key}",
                f"KAZOO_ACCOUNT_ID={sim.account_id}",
            ):
                print(line, flush=True)
            if quiet_meeting:
                await asyncio.Event().wait()  # conferences, but nobody calls in
            while True:
                await sim.run_script(standup)
                await asyncio.sleep(MEETING_GAP)
    except asyncio.CancelledError:
        pass  # asked to stop; leaving the "async with" has already shut the servers down


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="confbot simulator", description="Run the Kazoo PBX simulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--http-port", type=int, default=0, help="REST port (0: any free port)")
    parser.add_argument("--ws-port", type=int, default=0, help="websocket port (0: any free port)")
    parser.add_argument(
        "--quiet-meeting", action="store_true", help="conferences only, no scripted callers"
    )
    args = parser.parse_args(argv)
    asyncio.run(_run(args.host, args.http_port, args.ws_port, args.quiet_meeting))
    return 0


async def _run(host: str, http_port: int, ws_port: int, quiet_meeting: bool) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(serve(host, http_port, ws_port, quiet_meeting))
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows loops
            loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    finally:
        for sig in signals:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
