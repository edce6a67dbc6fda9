"""Process helpers the tools and the tests share: a free local port, and waiting until something holds."""

from __future__ import annotations

import asyncio
import inspect
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx

# A check returns a value (truthy once the condition holds) or an awaitable of one; what it returns
# differs from caller to caller, hence Any.
Check = Callable[[], Any]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def eventually(
    check: Check,
    *,
    seconds: float = 10.0,
    interval: float = 0.05,
    ignore: tuple[type[BaseException], ...] = (),
    what: str = "condition",
) -> Any:
    """Call `check()` (sync or async) until it returns something truthy, and return that.

    For effects with no event to await (a row written, a process connected). Exceptions of the
    `ignore` types count as "not yet"; after `seconds`, TimeoutError (from the last such exception).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    last: BaseException | None = None
    while True:
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
        except ignore as error:
            last = error
        if loop.time() >= deadline:
            raise TimeoutError(f"{what} not met within {seconds:g} s") from last
        await asyncio.sleep(interval)


def wait_http(url: str, process: subprocess.Popen[bytes], *, seconds: float, what: str) -> None:
    """Block until `url` answers below 500, while `process` (the server) runs.

    RuntimeError if the process exits first, TimeoutError after `seconds`.
    """
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not answer within {seconds:g} s")
        time.sleep(0.3)
