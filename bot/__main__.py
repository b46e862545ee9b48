"""`confbot` (or `python -m bot`): run, demo, simulator, check."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot.errors import ConfigError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="confbot", description="Run Kazoo conference bridges from Slack."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="run the bot (Slack + Kazoo) until SIGINT/SIGTERM")
    demo = commands.add_parser(
        "demo", help="try confbot with no credentials: a simulated PBX and a console for Slack"
    )
    demo.add_argument(
        "--pace",
        type=float,
        default=1.0,
        help="speed of the scripted meeting (0.5 = twice as fast)",
    )
    sim = commands.add_parser("simulator", help="run the Kazoo simulator alone")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--http-port", type=int, default=0)
    sim.add_argument("--ws-port", type=int, default=0)
    sim.add_argument("--quiet-meeting", action="store_true", help="no scripted callers")
    commands.add_parser("check", help="validate settings and connectivity, one line per check")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 2
    try:
        if args.command == "simulator":
            from bot.simulator.cli import main as simulator_main

            sim_argv = ["--host", args.host, "--http-port", str(args.http_port)]
            sim_argv += ["--ws-port", str(args.ws_port)]
            if args.quiet_meeting:
                sim_argv.append("--quiet-meeting")
            return simulator_main(sim_argv)
        if args.command == "run":
            from bot.app import serve
            from bot.config import Mode, load_settings
            from bot.logs import setup_logging

            settings = load_settings(Mode.RUN)
            setup_logging(settings.CONFBOT_LOG_FORMAT, settings.secrets())
            return asyncio.run(serve(settings))
        if args.command == "demo":
            from bot.console.demo import main as demo_main

            return demo_main(["--pace", str(args.pace)])
        if args.command == "check":
            from bot.check import main as check_main

            return check_main()
    except ConfigError as exc:
        print(f"confbot: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
