"""`python -m devtools.emulator --port 8081`: run the Bot API emulator until interrupted.

Prints the base URL to hand python-telegram-bot (and the control URL) on one line each,
then logs nothing but event names: no tokens, ids or message text.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from devtools.emulator.server import EmulatorServer
from devtools.emulator.state import World


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.emulator", description="A local Telegram Bot API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8081, help="port to listen on; 0 picks a free one (default 8081)"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every Bot API call")
    parser.add_argument("--bot-username", default="sro_connect_demo_bot")
    parser.add_argument("--bot-name", default="SRO Connect")
    parser.add_argument("--verbose", action="store_true", help="log every fault and unknown method")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    world = World(bot_username=args.bot_username, bot_name=args.bot_name, latency=args.latency)
    server = EmulatorServer(world, host=args.host, port=args.port)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sys.stdout.write(
        f"Bot API emulator: base_url={server.base_url} base_file_url={server.base_file_url}\n"
        f"Control: {server.url}/_emulator/  (python -m devtools.emulator.chat --url {server.url})\n"
    )
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
